/* probe.cl - the determinism probe run at context creation (its CPU twin kernels/probe/probe_cpu.c runs the same
 * functions on the host; runtime/opencl/probe.c compares bits). Prepended at build time: vxt_arith.h. */

/* out[i] = a[i]*b[i] + c[i], never fused. */
__kernel void vxt_probe_mul_add(__global const float *a, __global const float *b, __global const float *c,
                                __global float *out)
{
    size_t i = get_global_id(0);
    out[i] = vxt_mul_add(a[i], b[i], c[i]);
}

/* out[i] = vxt_exp(x[i]); sig[i] = vxt_sigmoid(x[i]); q[i] = x[i] / d[i]. */
__kernel void vxt_probe_exp_div(__global const float *x, __global const float *d, __global float *out,
                                __global float *sig, __global float *q)
{
    size_t i = get_global_id(0);
    out[i] = vxt_exp(x[i]);
    sig[i] = vxt_sigmoid(x[i]);
    q[i] = vxt_div(x[i], d[i]);
}

/* Trilinear samples of a small volume at given coordinates (3 floats per sample: z, y, x). */
__kernel void vxt_probe_trilinear(__global const float *vol, long nz, long ny, long nx,
                                  __global const float *coords, __global float *out)
{
    size_t i = get_global_id(0);
    out[i] = vxt_sample_trilinear_f32(vol, nz, ny, nx, coords[3 * i], coords[3 * i + 1], coords[3 * i + 2]);
}

/* Three overlapping tiles of size t (along x) accumulated in order into an output of length n, with
 * weights w[0..t), then normalized. tiles holds 3*t predictions; starts holds the three tile starts.
 * One work-item per output voxel: it visits the tiles in plan order. */
__kernel void vxt_probe_accumulate(__global const float *tiles, __global const float *w, int t,
                                   __global const int *starts, __global float *out)
{
    int v = (int)get_global_id(0);
    float acc = 0.0f, cnt = 0.0f;
    for (int k = 0; k < 3; k++) {
        int o = v - starts[k];
        if (o >= 0 && o < t) {
            acc = vxt_weighted_add(acc, tiles[k * t + o], w[o]);
            cnt = vxt_ftz(cnt + w[o]);
        }
    }
    out[v] = vxt_div(acc, cnt);
}

/* Half-precision round trips and flushing of subnormal inputs. */
__kernel void vxt_probe_half_ftz(__global const float *x, __global float *half_out, __global float *ftz_out)
{
    size_t i = get_global_id(0);
    half_out[i] = vxt_round_half(x[i]);
    float xi = vxt_ftz(x[i]); /* loaded values are flushed first: a DAZ device sees the same */
    ftz_out[i] = vxt_mul_add(xi, 1.0e20f, xi);
}
