"""``out = a @ b`` for the kernels' products: one fixed order per number, at full SIMD width.

:func:`panel_dot` computes ``out[j, n] = Σ_k a[j, k] b[k, n]`` (plus ``out[j, n]`` itself when
``accumulate``) as one chain of fused multiply-adds in the order ``k = 0, 1, …, K-1``::

    s = out[j, n] or 0;  for k in 0..K-1:  s = fma(a[j, k], b[k, n], s)

Every number of ``out`` gets exactly that chain, whatever its column ``n``, the width of ``b``,
the other columns, the SIMD width of the machine or the tile it lands in: a fused multiply-add
rounds once, so a lane of a vector instruction gives the same bits as the scalar one. This is
what lets a sequence give the same bits in any batch (``tests/test_determinism.py``) without
blocks of a fixed width.

**How it runs.** ``b`` is read 16 columns at a time, one SIMD register of 16 float32 on an
AVX-512 core (two of float64); each of 8 rows of ``a`` keeps its 16 sums in its own register,
and each step of ``k`` loads one row of ``b`` and does 8 broadcast-multiply-adds (the GEMM
micro-kernel of BLIS and OpenBLAS, for the skinny ``(G, K) @ (K, 16)`` products of a block of
16 sequences). LLVM would not keep such accumulators in registers when written in Numba (they
stayed in memory, 49-60 GFLOP/s) nor vectorise them as scalars (8-10 GFLOP/s), so the loop is
written here in LLVM IR through llvmlite — Numba's own dependency — as an ``@intrinsic``: vector
types ``<16 x float>`` and ``llvm.fma``. Leftover columns run 8 at a time, then one at a time,
with the same chain. Measured single-threaded for ``(400, 100) @ (100, 16)`` float32: about the
speed of OpenBLAS's kernel (12 µs), and at ``(1024, 256) @ (256, 16)`` 73 against 104 µs; see
``benchmarks/README.md``.

``b`` and ``out`` must have contiguous rows (unit stride along their last axis); ``a`` may be any
2-D view; ``out`` must not overlap ``a`` or ``b``.
"""
from .._jit import jit_enabled

WIDTH = 16          # columns of b per SIMD panel


def _panel_dot_numpy(a, b, out, accumulate):
    """Without the JIT: the same product by NumPy (rounded differently, not bit for bit)."""
    if accumulate:
        out += a @ b
    else:
        out[...] = a @ b


def _build():
    """The compiled :func:`panel_dot` (an ``@intrinsic``: its LLVM IR is written below)."""
    import llvmlite.binding as llvm
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    # 8 rows x 16 columns of sums: 8 AVX-512 registers, or 16 AVX2 ones (all there are) with 4
    rows = 8 if llvm.get_host_cpu_features().get("avx512f") else 4

    @intrinsic
    def panel_dot_ir(typingctx, a, b, out, accumulate):
        def codegen(context, builder, signature, args):
            a_ty, b_ty, out_ty, _ = signature.args
            A = context.make_array(a_ty)(context, builder, args[0])
            B = context.make_array(b_ty)(context, builder, args[1])
            O = context.make_array(out_ty)(context, builder, args[2])
            keep = args[3]
            M, K = cgutils.unpack_tuple(builder, A.shape, 2)
            N = cgutils.unpack_tuple(builder, B.shape, 2)[1]
            a_row, a_col = cgutils.unpack_tuple(builder, A.strides, 2)
            b_row = cgutils.unpack_tuple(builder, B.strides, 2)[0]
            out_row = cgutils.unpack_tuple(builder, O.strides, 2)[0]
            fty = context.get_value_type(a_ty.dtype)
            intp = context.get_value_type(types.intp)
            i32 = ir.IntType(32)
            size = ir.Constant(intp, context.get_abi_sizeof(fty))

            def const(v):
                return ir.Constant(intp, v)

            def at(base, row_stride, row, col, ty):
                """Pointer to ``base[row, col]`` (unit column stride), as ``ty*``."""
                offset = builder.add(builder.mul(row, row_stride), builder.mul(col, size))
                byte = builder.gep(builder.bitcast(base, ir.IntType(8).as_pointer()), [offset])
                return builder.bitcast(byte, ty.as_pointer())

            def a_at(j, k):
                offset = builder.add(builder.mul(j, a_row), builder.mul(k, a_col))
                byte = builder.gep(builder.bitcast(A.data, ir.IntType(8).as_pointer()), [offset])
                return builder.load(builder.bitcast(byte, fty.as_pointer()))

            def fma_of(ty):
                name = f"llvm.fma.{'v%d' % ty.count if isinstance(ty, ir.VectorType) else ''}" \
                       f"{'f32' if fty == ir.FloatType() else 'f64'}"
                return cgutils.get_or_insert_function(builder.module,
                                                      ir.FunctionType(ty, [ty] * 3), name)

            def tile(j0, n0, nrows, width):
                """out[j0:j0+nrows, n0:n0+width], its sums in registers across the k loop."""
                ty = ir.VectorType(fty, width) if width > 1 else fty
                fma = fma_of(ty)
                zero = ir.Constant(ty, [ir.Constant(fty, 0.0)] * width if width > 1 else 0.0)
                undef = ir.Constant(ty, ir.Undefined)
                sums = [cgutils.alloca_once(builder, ty) for _ in range(nrows)]  # registers
                for r, s in enumerate(sums):
                    here = at(O.data, out_row, builder.add(j0, const(r)), n0, ty)
                    builder.store(builder.select(keep, builder.load(here, align=1), zero), s)
                with cgutils.for_range(builder, K) as loop:
                    k = loop.index
                    b_k = builder.load(at(B.data, b_row, k, n0, ty), align=1)
                    for r, s in enumerate(sums):
                        a_jk = a_at(builder.add(j0, const(r)), k)
                        if width > 1:       # broadcast a[j, k] to every lane
                            a_jk = builder.shuffle_vector(
                                builder.insert_element(undef, a_jk, ir.Constant(i32, 0)), undef,
                                ir.Constant(ir.VectorType(i32, width), [0] * width))
                        builder.store(builder.call(fma, [a_jk, b_k, builder.load(s)]), s)
                for r, s in enumerate(sums):
                    here = at(O.data, out_row, builder.add(j0, const(r)), n0, ty)
                    builder.store(builder.load(s), here, align=1)

            def columns(n_from, n_to, width):
                """Panels of ``width`` columns from n_from up to n_to (a multiple of width)."""
                M_tiles = builder.mul(builder.udiv(M, const(rows)), const(rows))
                with cgutils.for_range_slice(builder, n_from, n_to, const(width)) as (n0, _):
                    with cgutils.for_range_slice(builder, const(0), M_tiles, const(rows)) as \
                            (j0, _):
                        tile(j0, n0, rows, width)
                    with cgutils.for_range_slice(builder, M_tiles, M, const(1)) as (j, _):
                        tile(j, n0, 1, width)

            n16 = builder.mul(builder.udiv(N, const(WIDTH)), const(WIDTH))
            n8 = builder.add(n16, builder.mul(builder.udiv(builder.sub(N, n16), const(8)),
                                              const(8)))
            columns(const(0), n16, WIDTH)
            columns(n16, n8, 8)
            columns(n8, N, 1)
            return context.get_dummy_value()

        return types.void(a, b, out, types.boolean), codegen

    from .._jit import njit

    @njit(inline="always")
    def panel_dot(a, b, out, accumulate):
        panel_dot_ir(a, b, out, accumulate)

    return panel_dot


panel_dot = _build() if jit_enabled() else _panel_dot_numpy
panel_dot.__doc__ = """out = a @ b (``accumulate``: out += a @ b), ``a (M, K)``, ``b (K, N)``,
``out (M, N)``: every number one chain of fused multiply-adds in the order of ``k`` (see the
module's docstring)."""
