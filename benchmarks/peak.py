"""This machine's floating-point peak, measured: a register-resident loop of fused multiply-adds.

The fraction of peak a benchmark reports (``grid.py``) divides its achieved GFLOP/s by this
number. The loop keeps 12 independent SIMD registers of 16 float32 (or float64) in flight — more
than an FMA unit's latency times its throughput, so the unit never waits — and touches no
memory, so what it measures is the core's arithmetic alone. It is written in LLVM IR through
llvmlite (Numba's own dependency) with ``llvm.fma`` on ``<16 x float>`` vectors: LLVM lowers
them to the widest FMA the core has (AVX-512 here, two AVX2 halves elsewhere).

Per core, by thread CPU time (what another process does to the wall clock does not count),
best of ``repeats``; the machine's peak is that times the threads a benchmark uses.

    python benchmarks/peak.py
"""
import json
import sys
import time

LANES = 16          # elements per vector
CHAINS = 12         # independent accumulators


def _loop(dtype):
    from llvmlite import ir
    from numba import njit, types
    from numba.core import cgutils
    from numba.extending import intrinsic

    f32 = dtype == "float32"

    @intrinsic
    def fma_chains(typingctx, n, seed):
        def codegen(context, builder, signature, args):
            fty = ir.FloatType() if f32 else ir.DoubleType()
            vty = ir.VectorType(fty, LANES)
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty] * 3),
                f"llvm.fma.v{LANES}{'f32' if f32 else 'f64'}")
            s = builder.fptrunc(args[1], fty) if f32 else args[1]
            undef = ir.Constant(vty, ir.Undefined)
            splat = builder.shuffle_vector(
                builder.insert_element(undef, s, ir.Constant(ir.IntType(32), 0)), undef,
                ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))
            sums = [cgutils.alloca_once(builder, vty) for _ in range(CHAINS)]
            for k, acc in enumerate(sums):
                builder.store(builder.fadd(splat, ir.Constant(vty, [ir.Constant(fty, k)] * LANES)),
                              acc)
            factor = builder.fmul(splat, ir.Constant(vty, [ir.Constant(fty, 0.999)] * LANES))
            with cgutils.for_range(builder, args[0]):
                for acc in sums:
                    builder.store(builder.call(fma, [builder.load(acc), factor, splat]), acc)
            total = builder.load(sums[0])
            for acc in sums[1:]:
                total = builder.fadd(total, builder.load(acc))
            first = builder.extract_element(total, ir.Constant(ir.IntType(32), 0))
            return builder.fpext(first, ir.DoubleType()) if f32 else first
        return types.float64(n, seed), codegen

    @njit(nogil=True)
    def run(n, seed):
        return fma_chains(n, seed)

    return run


def fma_peak_gflops(dtype="float32", iterations=2_000_000, repeats=5):
    """GFLOP/s of one core (an FMA counts 2 FLOPs), best of ``repeats`` by thread CPU time."""
    run = _loop(dtype)
    run(10, 0.5)                                             # compile
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        run(iterations, 0.5)
        best = min(best, time.thread_time() - start)
    return iterations * CHAINS * LANES * 2 / best / 1e9


def main():
    print(json.dumps({d: round(fma_peak_gflops(d), 1) for d in ("float32", "float64")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
