/* fill.cl - n 32-bit values from element `off` set to v: what clEnqueueFillBuffer does, as a kernel. Oclgrind 21.10
 * does not mark memory written by clEnqueueFillBuffer as initialized, so every later read of it is reported; a
 * kernel's stores are tracked. On a GPU both are one pass over the memory. Part of the programs that need it
 * (stitch: the NaN flags; histogram: the counters); runtime/opencl/cl_exec.c, vxt__cl_fill_u32. */
__kernel void vxt_k_fill_u32(__global uint *p, long off, long n, uint v)
{
    long i = (long)get_global_id(0);
    if (i < n)
        p[off + i] = v;
}
