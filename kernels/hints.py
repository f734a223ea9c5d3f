"""Hints to the CPU that Numba cannot express: software prefetch.

The event engine touches one random 64-byte row of its neuron table per delivery
(``kernels/event.py``). Reading a row a dozen deliveries before it is needed lets
the memory system fetch many rows at once, where demand loads alone keep only as
many in flight as the CPU's reorder window holds.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch_row(typingctx, table, half, row):
    """Prefetch the cache line of ``table[half, row, 0]`` (a 3-d array) for writing.

    A hint only (LLVM's ``llvm.prefetch``): no result, no fault on any address, and no
    effect on what the program computes.
    """
    sig = types.void(table, half, row)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        index = [context.cast(builder, args[1], signature.args[1], types.intp),
                 context.cast(builder, args[2], signature.args[2], types.intp),
                 context.get_constant(types.intp, 0)]
        ptr = cgutils.get_item_pointer2(context, builder, array.data, cgutils.unpack_tuple(builder, array.shape),
                                        cgutils.unpack_tuple(builder, array.strides), array_type.layout, index,
                                        wraparound=False, boundscheck=False)
        if getattr(ptr.type, "is_opaque", False):  # LLVM with opaque pointers (llvmlite >= 0.44)
            name = "llvm.prefetch.p0"
        else:
            ptr = builder.bitcast(ptr, ir.IntType(8).as_pointer())
            name = "llvm.prefetch.p0i8"
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32,
                                                                                                   i32]), name)
        builder.call(prefetch, [ptr, i32(1), i32(3), i32(1)])  # for writing, keep in all levels, data cache
        return context.get_dummy_value()

    return sig, codegen
