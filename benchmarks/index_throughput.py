"""Indexing throughput against raw encoding, incremental rebuild, and search latency by size.

    .venv/bin/python -m benchmarks.index_throughput [--bbc F] [--limit N] [--sizes 10000,100000]

Run it alone: it measures wall time on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from benchmarks.common import SHARED, percentile, table
from benchmarks.runner import prologue
from bot.settings import Settings
from index import SEGMENTS, FaissStore, build_index, current_version, encoded_texts
from index.encoders import (
    Encoder,
    TorchEncoder,
    cpu_flags,
    native_bf16,
    onnx_or_none,
    passage_encoder,
)
from index.segment import PASSAGE_VECTORS, SENTENCE_VECTORS
from index.sources import Corpus, read_corpus


def texts_encoded(corpus: Corpus, max_words: int) -> tuple[list[str], int]:
    """Exactly the texts the pipeline encodes (index.build.encoded_texts), and the number of
    passages."""
    chunks, texts = encoded_texts(corpus.articles, max_words)
    return texts, sum(len(c) for c in chunks)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(corpus_path: Path, work: Path, encoder: TorchEncoder, settings: Settings) -> Path:
    corpus = read_corpus([corpus_path])
    texts, passage_count = texts_encoded(corpus, settings.max_passage_words)
    index_dir = work / "index"

    def raw_encode() -> float:
        start = time.perf_counter()
        encoder.model.encode(texts, batch_size=settings.embed_batch_size,
                             normalize_embeddings=True)
        return time.perf_counter() - start

    # Raw encode before and after the pipeline, so drift on a shared machine shows and averages.
    raw_before = raw_encode()
    started = time.perf_counter()
    summary = build_index(corpus, index_dir, settings, encoder=encoder, full=True)
    pipeline = time.perf_counter() - started
    # The same build with ENCODER_BACKEND=auto; its one-time ONNX export is timed apart.
    started = time.perf_counter()
    chosen = passage_encoder(settings, work / "index-auto",
                             [a.text for a in corpus.articles[:40]])
    setup = time.perf_counter() - started
    started = time.perf_counter()
    build_index(corpus, work / "index-auto", settings, encoder=chosen, full=True)
    pipeline_auto = time.perf_counter() - started
    raw_after = raw_encode()
    raw = (raw_before + raw_after) / 2
    print(f"raw encode before / after the pipelines: {raw_before:.1f} s / {raw_after:.1f} s; "
          f"auto chose {chosen.backend} ({setup:.1f} s to load, export and check once)")
    rows = [
        ["pipeline (build_index --full), torch fp32", passage_count, len(texts), pipeline,
         passage_count / pipeline, len(texts) / pipeline, raw / pipeline],
        [f"pipeline, ENCODER_BACKEND=auto ({chosen.backend})", passage_count, len(texts),
         pipeline_auto, passage_count / pipeline_auto, len(texts) / pipeline_auto,
         raw / pipeline_auto],
        ["raw SentenceTransformer.encode, same texts", passage_count, len(texts), raw,
         passage_count / raw, len(texts) / raw, 1.0],
    ]
    print(table(["what", "passages", "texts encoded", "seconds", "passages/s", "texts/s",
                 "throughput vs raw"], rows))
    print(f"\nPeak RSS {peak_rss_mb():.0f} MB; index size on disk "
          f"{summary.size_bytes / 1e6:.1f} MB; {summary.sentences} sentences")
    return index_dir


def incremental(corpus_path: Path, work: Path, index_dir: Path, encoder: TorchEncoder,
                settings: Settings) -> None:
    lines = corpus_path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["text"] += "\n\nThis paragraph was added to test an incremental rebuild."
    changed = work / "changed.jsonl"
    changed.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n", encoding="utf-8")
    started = time.perf_counter()
    summary = build_index(read_corpus([changed]), index_dir, settings, encoder=encoder)
    seconds = time.perf_counter() - started
    print("\n" + table(["incremental rebuild", "changed articles", "passages re-embedded",
                        "passages in index", "seconds"],
                       [["one article changed", len(summary.changed), summary.embedded_passages,
                         summary.passages, seconds]]))


def search_latency(index_dir: Path, sizes: list[int], queries: int, ef_search: list[int],
                   hnsw_m: int = 32, ef_construction: int = 80, seed: int = 0) -> None:
    folder = current_version(index_dir)
    assert folder is not None, f"no index in {index_dir}"
    segments = sorted((folder / SEGMENTS).iterdir(), key=lambda p: p.stat().st_size)
    real = np.vstack([np.load(s / PASSAGE_VECTORS) for s in segments])
    sentences = np.vstack([np.load(s / SENTENCE_VECTORS) for s in segments])
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(sentences), size=queries, replace=False)
    query_vectors = sentences[pick]
    rows = []
    for size in sizes:
        vectors = synthetic(real, size, rng)
        exact: list[np.ndarray] = []
        for kind in ("flat", "hnsw"):
            store = FaissStore(vectors.shape[1], kind, hnsw_m=hnsw_m,
                               ef_construction=ef_construction)
            started = time.perf_counter()
            store.add(np.arange(size, dtype=np.int64), vectors)
            build_seconds = time.perf_counter() - started
            memory = faiss.serialize_index(store.index).nbytes / 1e6
            for ef in ([0] if kind == "flat" else ef_search):
                if ef:
                    store.ef_search = ef
                times, results = [], []
                for q in query_vectors:
                    t = time.perf_counter()
                    _, ids = store.search(q, 10)
                    times.append((time.perf_counter() - t) * 1000)
                    results.append(ids[0])
                if kind == "flat":
                    exact = results
                recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in
                                        zip(results, exact, strict=True)]))
                label = (f"hnsw M={hnsw_m} efC={ef_construction} ef={ef}" if ef else kind)
                rows.append([size, label, build_seconds, percentile(times, 50),
                             percentile(times, 95), recall, memory])
            del store
        del vectors
    print("\n" + table(["vectors", "index", "build s", "p50 ms", "p95 ms", "recall@10 vs exact",
                        "memory MB"], rows))


NOISE = 0.6  # noise norm: perturbed copies keep a cosine of about 0.85 to their original


def synthetic(real: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` vectors near real BBC passage vectors (real ones first, then perturbed copies)."""
    if size <= len(real):
        return np.ascontiguousarray(real[:size])
    out = np.empty((size, real.shape[1]), dtype=np.float32)
    out[:len(real)] = real
    for start in range(len(real), size, 100_000):
        end = min(size, start + 100_000)
        rows = real[rng.integers(0, len(real), end - start)]
        noisy = rows + rng.normal(0, NOISE / np.sqrt(real.shape[1]), rows.shape).astype(np.float32)
        out[start:end] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out


def backend_throughput(corpus_path: Path, count: int, settings: Settings, work: Path,
                       batchings: list[tuple[int, int]]) -> None:
    """Texts per second of each encoder backend on the same BBC pipeline texts, batched each
    way in `batchings` ((texts, 0): fixed batches; (0, tokens): token budget), against torch
    fp32 batched the same way and raw torch fp32 at EMBED_BATCH_SIZE, and how far its vectors
    are from torch fp32's (cosine)."""
    texts, _ = texts_encoded(read_corpus([corpus_path]), settings.max_passage_words)
    texts = texts[:count]
    fp32 = TorchEncoder(settings.embedding_model, settings.embed_batch_size)
    reference, raw_seconds = _timed(fp32, texts, (settings.embed_batch_size, 0))
    candidates: list[Encoder] = [fp32]  # torch fp32 first: the same-batching baseline
    for name in ("onnx-fp32", "onnx-int8"):
        onnx = onnx_or_none(fp32, work, name)
        if onnx is not None:
            candidates.append(onnx)
    bf16 = TorchEncoder(settings.embedding_model)
    bf16.to_bf16()
    candidates.append(bf16)
    rows = []
    for batching in batchings:
        base_seconds = 0.0
        for encoder in candidates:
            vectors, seconds = _timed(encoder, texts, batching)
            base_seconds = base_seconds or seconds
            cosines = np.sum(reference * vectors, axis=1)
            label = f"{batching[0]} texts" if batching[0] else f"{batching[1]} tokens"
            rows.append([encoder.backend, label, len(texts) / seconds, base_seconds / seconds,
                         raw_seconds / seconds, float(cosines.mean()), float(cosines.min())])
    flags = cpu_flags()
    raw = f"raw torch fp32 (batch {settings.embed_batch_size})"
    print(f"\nEncoder backends on {len(texts)} BBC pipeline texts; native bf16: "
          f"{native_bf16(flags)}; {raw}: {len(texts) / raw_seconds:.1f} texts/s")
    print(table(["backend", "batches of", "texts/s", "vs torch fp32, same batching",
                 f"vs {raw}", "cosine mean", "cosine min"], rows))


def _timed(encoder: Encoder, texts: list[str],
           batching: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Vectors of `texts` batched this way, and the seconds they took (after a warm-up)."""
    encoder.batch_size = batching[0] or encoder.batch_size
    encoder.batch_tokens = batching[1]
    encoder.encode(texts[:32])
    started = time.perf_counter()
    vectors = encoder.encode(texts)
    return vectors, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="first N articles only")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", default="128,512", help="HNSW efSearch values")
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--index-dir", type=Path, default=None,
                        help="an index already built from BBC: only measure search latency")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--backends", type=int, default=0, metavar="N",
                        help="only compare the encoder backends on the first N texts")
    parser.add_argument("--batch-sizes", default="16",
                        help="fixed batch sizes the backends are compared at (with --backends)")
    parser.add_argument("--batch-tokens", default="2048",
                        help="token budgets the backends are compared at (with --backends)")
    args = prologue(parser, argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="verbatim-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus_path = args.bbc
    if args.limit:
        corpus_path = work / "subset.jsonl"
        lines = args.bbc.read_text(encoding="utf-8").splitlines()[:args.limit]
        corpus_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(_env_file=None, index_dir=work / "index", data_dir=work)
    if args.backends:
        batchings = [(int(b), 0) for b in args.batch_sizes.split(",") if b]
        batchings += [(0, int(t)) for t in args.batch_tokens.split(",") if t]
        backend_throughput(corpus_path, args.backends, settings, work, batchings)
        return
    encoder = TorchEncoder(settings.embedding_model, settings.embed_batch_size,
                      settings.embed_batch_tokens)
    encoder.encode(["warm up"])
    try:
        if args.index_dir is not None:
            index_dir = args.index_dir
        else:
            index_dir = throughput(corpus_path, work, encoder, settings)
            incremental(corpus_path, work, index_dir, encoder, settings)
        search_latency(index_dir, [int(s) for s in args.sizes.split(",")], args.queries,
                       [int(e) for e in args.ef_search.split(",")], args.hnsw_m,
                       args.ef_construction)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
