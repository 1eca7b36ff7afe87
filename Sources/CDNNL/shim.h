#pragma once
// oneDNN's matmul primitive for one row-major product C[M,N] (+)= op(A)·op(B), float32 or
// bfloat16 inputs with float32 output. Wrapped here so Swift sees three plain calls.
#include <oneapi/dnnl/dnnl.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  dnnl_engine_t engine;              // the engine the primitive was made for (its memory and streams too)
  dnnl_primitive_desc_t descriptor;  // kept: `implementation` points into it
  dnnl_primitive_t primitive;
  dnnl_memory_desc_t a, b, c, scratch;
  dnnl_memory_desc_t b_plain;  // B as the caller stores it (== b unless planned with a packed B)
  size_t scratch_bytes, b_bytes;
  int b_packed;                // B is read in oneDNN's own blocked layout (`mm_matmul_pack_b` makes it)
  const char *implementation;  // oneDNN's name of the kernel, e.g. "brg:avx512_core_amx_bf16"
} mm_matmul;

/// The CPU engine, created by the first call: make that call before threads share it.
static inline dnnl_engine_t mm_dnnl_engine(void) {
  static dnnl_engine_t engine = NULL;
  if (!engine && dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
  return engine;
}

/// Keeps oneDNN on the calling thread (our pool splits work; oneDNN's OpenMP threads would compete
/// with it). A per-thread setting: cheap to repeat.
static inline void mm_single_thread(void) {
  static void (*set_threads)(int) = NULL;
  static int looked_up = 0;
  if (!looked_up) { set_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads"); looked_up = 1; }
  if (set_threads) set_threads(1);
}

/// Plans the product; 0 on success. `bf16`: A and B hold bfloat16. `accumulate`: C += product.
/// `pack_b`: B is a constant weight, read in the layout the kernel prefers (format `any`), so that
/// it is reordered once (`mm_matmul_pack_b`) instead of copied into that layout at every call.
static inline int mm_matmul_create(mm_matmul *mm, long m, long n, long k, int trans_a, int trans_b,
                                   long lda, long ldb, long ldc, int bf16, int accumulate, int pack_b) {
  dnnl_engine_t engine = mm_dnnl_engine();
  if (!engine) return -1;
  mm->engine = engine;
  dnnl_data_type_t t = bf16 ? dnnl_bf16 : dnnl_f32;
  dnnl_dims_t ad = {m, k}, bd = {k, n}, cd = {m, n};
  dnnl_dims_t as = {trans_a ? 1 : lda, trans_a ? lda : 1};
  dnnl_dims_t bs = {trans_b ? 1 : ldb, trans_b ? ldb : 1};
  dnnl_dims_t cs = {ldc, 1};
  if (dnnl_memory_desc_init_by_strides(&mm->a, 2, ad, t, as) || dnnl_memory_desc_init_by_strides(&mm->b, 2, bd, t, bs) ||
      dnnl_memory_desc_init_by_strides(&mm->c, 2, cd, dnnl_f32, cs)) return -2;
  mm->b_plain = mm->b;
  if (pack_b && dnnl_memory_desc_init_by_tag(&mm->b, 2, bd, t, dnnl_format_tag_any)) return -2;
  dnnl_matmul_desc_t desc;
  if (dnnl_matmul_desc_init(&desc, &mm->a, &mm->b, NULL, &mm->c)) return -3;
  // The caller's scratchpad: a primitive's own one would be shared by the threads that run it at
  // once (two equal blocks of one product, or equal products inside parallel chunks).
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  if (dnnl_primitive_attr_create(&attr) || dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) return -4;
  if (accumulate) {
    if (dnnl_post_ops_create(&ops) || dnnl_post_ops_append_sum(ops, 1.0f) || dnnl_primitive_attr_set_post_ops(attr, ops)) return -4;
  }
  dnnl_primitive_desc_t pd = NULL;
  int status = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
  if (ops) dnnl_post_ops_destroy(ops);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (status) return -5;
  mm->implementation = "unknown";
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &mm->implementation);
  const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (!scratch) return -7;
  mm->scratch = *scratch;
  mm->scratch_bytes = dnnl_memory_desc_get_size(scratch);
  if (pack_b) {
    const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (!chosen) return -7;
    mm->b = *chosen;
  }
  mm->b_bytes = dnnl_memory_desc_get_size(&mm->b);
  mm->b_packed = !dnnl_memory_desc_equal(&mm->b, &mm->b_plain);
  mm->descriptor = pd;
  return dnnl_primitive_create(&mm->primitive, pd) ? -6 : 0;
}

/// Runs the planned product on the calling thread only. 0 on success. With a packed plan, `b` is
/// the copy `mm_matmul_pack_b` made.
static inline int mm_matmul_run(const mm_matmul *mm, const void *a, const void *b, float *c) {
  mm_single_thread();
  dnnl_engine_t engine = mm->engine;
  dnnl_stream_t stream;
  if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags)) return -1;
  // This thread's scratch buffer, grown as needed and kept for the thread's life.
  static _Thread_local void *scratch_buffer = NULL;
  static _Thread_local size_t scratch_capacity = 0;
  if (mm->scratch_bytes > scratch_capacity) {
    free(scratch_buffer);
    scratch_capacity = 0;
    if (posix_memalign(&scratch_buffer, 64, mm->scratch_bytes)) { scratch_buffer = NULL; dnnl_stream_destroy(stream); return -4; }
    scratch_capacity = mm->scratch_bytes;
  }
  dnnl_memory_t ma, mb, mc, ms;
  int status = -2;
  if (!dnnl_memory_create(&ma, &mm->a, engine, (void *)a)) {
    if (!dnnl_memory_create(&mb, &mm->b, engine, (void *)b)) {
      if (!dnnl_memory_create(&mc, &mm->c, engine, c)) {
        if (!dnnl_memory_create(&ms, &mm->scratch, engine, scratch_buffer)) {
          dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}};
          status = dnnl_primitive_execute(mm->primitive, stream, 4, args) || dnnl_stream_wait(stream) ? -3 : 0;
          dnnl_memory_destroy(ms);
        }
        dnnl_memory_destroy(mc);
      }
      dnnl_memory_destroy(mb);
    }
    dnnl_memory_destroy(ma);
  }
  dnnl_stream_destroy(stream);
  return status;
}

/// Whether two plans read B in the same layout (so one packed copy serves both).
static inline int mm_matmul_same_b(const mm_matmul *x, const mm_matmul *y) {
  return dnnl_memory_desc_equal(&x->b, &y->b) && dnnl_memory_desc_equal(&x->b_plain, &y->b_plain);
}

/// Reorders B from the caller's layout (`plain`) into the plan's (`packed`, `b_bytes` bytes), on
/// the calling thread. 0 on success.
static inline int mm_matmul_pack_b(const mm_matmul *mm, const void *plain, void *packed) {
  mm_single_thread();
  dnnl_engine_t engine = mm->engine;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t reorder = NULL;
  if (dnnl_reorder_primitive_desc_create(&pd, &mm->b_plain, engine, &mm->b, engine, NULL)) return -1;
  int status = dnnl_primitive_create(&reorder, pd) ? -2 : 0;
  dnnl_primitive_desc_destroy(pd);
  if (status) return status;
  dnnl_stream_t stream;
  if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags)) { dnnl_primitive_destroy(reorder); return -3; }
  dnnl_memory_t src, dst;
  status = -4;
  if (!dnnl_memory_create(&src, &mm->b_plain, engine, (void *)plain)) {
    if (!dnnl_memory_create(&dst, &mm->b, engine, packed)) {
      dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
      status = dnnl_primitive_execute(reorder, stream, 2, args) || dnnl_stream_wait(stream) ? -5 : 0;
      dnnl_memory_destroy(dst);
    }
    dnnl_memory_destroy(src);
  }
  dnnl_stream_destroy(stream);
  dnnl_primitive_destroy(reorder);
  return status;
}

/// "2.6.3", or NULL.
static inline const char *mm_dnnl_version(void) {
  static char text[32];
  const dnnl_version_t *v = dnnl_version();
  if (!v) return NULL;
  snprintf(text, sizeof text, "%d.%d.%d", v->major, v->minor, v->patch);
  return text;
}
