// Fused LSTM, GRU and Elman sequence kernels for the CPU: forward and backward passes over a
// whole time-major sequence in one op each. The batch is split into one block
// per worker thread; each block runs every time step on its own (rows of the
// batch do not interact), so the threads never wait for one another.
#define EIGEN_USE_THREADS
#include <cstring>
#include <type_traits>
#include <vector>

#include "Eigen/Core"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/platform/blocking_counter.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define RNNKIT_PACKED 1
#else
#define RNNKIT_PACKED 0
#endif
#if RNNKIT_PACKED && defined(__AVX512BF16__)
#define RNNKIT_BF16 1
#else
#define RNNKIT_BF16 0
#endif

namespace rnnkit {
using namespace tensorflow;  // NOLINT
using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
using CMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;

inline Map block(float* p, int64_t rows, int64_t cols, int64_t stride) {
  return Map(p, rows, cols, Eigen::OuterStride<>(stride));
}
inline CMap cblock(const float* p, int64_t rows, int64_t cols, int64_t stride) {
  return CMap(p, rows, cols, Eigen::OuterStride<>(stride));
}

// Runs work(b0, b1) on one block of batch rows per intra-op thread, the
// first block on the calling thread, and returns when all are done.
template <typename Fn>
void RunBlocks(OpKernelContext* ctx, int64_t batch, const Fn& work) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads();
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(pool->num_threads, batch));
  const int64_t size = (batch + blocks - 1) / blocks;
  BlockingCounter done(blocks - 1);
  for (int64_t k = 1; k < blocks; ++k) {
    const int64_t b0 = k * size, b1 = std::min(batch, b0 + size);
    pool->workers->Schedule([&, b0, b1] {
      if (b0 < b1) work(b0, b1);
      done.DecrementCount();
    });
  }
  work(0, std::min(batch, size));
  done.Wait();
}

// The recurrent matmul of every step, C (+)= A @ B, with B (the recurrent
// kernel or its transpose) packed once per op into 32-column panels that an
// AVX-512 micro-kernel streams: Eigen's product would repack B on every step
// (1 MB for an LSTM of 256 units). With bf16 set, B and each step's A are
// rounded to bfloat16 and multiplied by AVX512_BF16's dot products with
// float32 accumulation; the states and everything else stay float32. Without
// AVX-512 at build time the product is Eigen's.
class RecurrentMatmul {
 public:
  static constexpr int kCols = 32;  // a panel: two AVX-512 registers of float32
  // Rows of A a micro-kernel keeps in registers (16 accumulators; 12 rows measured the same).
  static constexpr int kRows = 8;

  // B[k][j] = src[k * sk + j * sn], K x N: (H, G, G, 1) for U, (G, H, 1, G) for U^T.
  RecurrentMatmul(OpKernelContext* ctx, const float* src, int64_t K, int64_t N, int64_t sk,
                  int64_t sn, bool bf16)
      : src_(src), K_(K), N_(N), sk_(sk), sn_(sn), bf16_(bf16) {
#if RNNKIT_PACKED
    const int64_t panels = (N + kCols - 1) / kCols;
    if (bf16_) {
      K2_ = (K + 1) / 2;
      // [panel][k pair][column][2] bfloat16, stored as uint16.
      OP_REQUIRES_OK(ctx, ctx->allocate_temp(DT_UINT16, TensorShape({panels * K2_ * kCols * 2}),
                                             &packed_));
      uint16_t* p = packed_.flat<uint16_t>().data();
      for (int64_t q = 0; q < panels; ++q)
        for (int64_t kk = 0; kk < K2_; ++kk)
          for (int64_t j = 0; j < kCols; ++j)
            for (int64_t e = 0; e < 2; ++e) {
              const int64_t k = 2 * kk + e, col = q * kCols + j;
              *p++ = k < K && col < N ? ToBf16(src[k * sk + col * sn]) : 0;
            }
    } else {
      // [panel][k][column] float32.
      OP_REQUIRES_OK(ctx, ctx->allocate_temp(DT_FLOAT, TensorShape({panels * K * kCols}),
                                             &packed_));
      float* p = packed_.flat<float>().data();
      for (int64_t q = 0; q < panels; ++q)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < kCols; ++j) {
            const int64_t col = q * kCols + j;
            *p++ = col < N ? src[k * sk + col * sn] : 0.f;
          }
    }
#else
    OP_REQUIRES(ctx, !bf16, errors::InvalidArgument("rnnkit: built without AVX512_BF16"));
#endif
  }

  // C[m x N] (row stride ldc) = A[m x K] (row stride lda) @ B, or += with accumulate.
  void Apply(const float* a, int64_t m, int64_t lda, float* c, int64_t ldc,
             bool accumulate) const {
#if RNNKIT_PACKED
    if (bf16_) {
      ApplyBf16(a, m, lda, c, ldc, accumulate);
      return;
    }
    const float* panel = packed_.flat<float>().data();
    for (int64_t j0 = 0; j0 < N_; j0 += kCols, panel += K_ * kCols) {
      const int cols = static_cast<int>(std::min<int64_t>(kCols, N_ - j0));
      for (int64_t r0 = 0; r0 < m; r0 += kRows) {
        const float* ar = a + r0 * lda;
        float* cr = c + r0 * ldc + j0;
        ForRows(std::min<int64_t>(kRows, m - r0), [&](auto rows) {
          KernelF32<decltype(rows)::value>(ar, lda, panel, cr, ldc, cols, accumulate);
        });
      }
    }
#else
    Map C = block(c, m, N_, ldc);
    CMap A = cblock(a, m, K_, lda);
    if (sn_ == 1) {
      if (accumulate) C.noalias() += A * cblock(src_, K_, N_, sk_);
      else C.noalias() = A * cblock(src_, K_, N_, sk_);
    } else {
      if (accumulate) C.noalias() += A * cblock(src_, N_, K_, sn_).transpose();
      else C.noalias() = A * cblock(src_, N_, K_, sn_).transpose();
    }
#endif
  }

 private:
  static uint16_t ToBf16(float f) {  // round to nearest even (the weights are finite)
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
  }

#if RNNKIT_PACKED
  // Calls f(std::integral_constant<int, rows>), for a micro-kernel unrolled over its rows.
  template <typename F>
  static void ForRows(int64_t rows, const F& f) {
    using std::integral_constant;
    switch (rows) {
      case 8: f(integral_constant<int, 8>()); break;
      case 7: f(integral_constant<int, 7>()); break;
      case 6: f(integral_constant<int, 6>()); break;
      case 5: f(integral_constant<int, 5>()); break;
      case 4: f(integral_constant<int, 4>()); break;
      case 3: f(integral_constant<int, 3>()); break;
      case 2: f(integral_constant<int, 2>()); break;
      default: f(integral_constant<int, 1>()); break;
    }
  }

  static void Store(float* row, __m512 lo, __m512 hi, int cols, bool accumulate) {
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
    const __mmask16 m1 =
        cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
    if (accumulate) {
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(m0, row));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(m1, row + 16));
    }
    _mm512_mask_storeu_ps(row, m0, lo);
    _mm512_mask_storeu_ps(row + 16, m1, hi);
  }

  template <int MR>
  void KernelF32(const float* a, int64_t lda, const float* panel, float* c, int64_t ldc,
                 int cols, bool accumulate) const {
    __m512 lo[MR], hi[MR];
    for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K_; ++k) {
      const __m512 b0 = _mm512_load_ps(panel + k * kCols);
      const __m512 b1 = _mm512_load_ps(panel + k * kCols + 16);
      for (int r = 0; r < MR; ++r) {
        const __m512 x = _mm512_set1_ps(a[r * lda + k]);
        lo[r] = _mm512_fmadd_ps(x, b0, lo[r]);
        hi[r] = _mm512_fmadd_ps(x, b1, hi[r]);
      }
    }
    for (int r = 0; r < MR; ++r) Store(c + r * ldc, lo[r], hi[r], cols, accumulate);
  }

#if RNNKIT_BF16
  void ApplyBf16(const float* a, int64_t m, int64_t lda, float* c, int64_t ldc,
                 bool accumulate) const {
    // A rounded to bfloat16, a row of K2 pairs each (zero-padded to an even K).
    thread_local std::vector<uint32_t> scratch;
    scratch.resize(m * K2_);
    uint16_t* half = reinterpret_cast<uint16_t*>(scratch.data());
    for (int64_t r = 0; r < m; ++r) {
      uint16_t* out = half + r * K2_ * 2;
      int64_t k = 0;
      for (; k + 16 <= K_; k += 16) {
        const __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(a + r * lda + k));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k), (__m256i)v);
      }
      for (; k < K_; ++k) out[k] = ToBf16(a[r * lda + k]);
      if (K_ % 2) out[K_] = 0;
    }
    const uint16_t* panel = packed_.flat<uint16_t>().data();
    for (int64_t j0 = 0; j0 < N_; j0 += kCols, panel += K2_ * kCols * 2) {
      const int cols = static_cast<int>(std::min<int64_t>(kCols, N_ - j0));
      for (int64_t r0 = 0; r0 < m; r0 += kRows) {
        const uint32_t* ar = scratch.data() + r0 * K2_;
        float* cr = c + r0 * ldc + j0;
        ForRows(std::min<int64_t>(kRows, m - r0), [&](auto rows) {
          KernelBf16<decltype(rows)::value>(ar, panel, cr, ldc, cols, accumulate);
        });
      }
    }
  }

  template <int MR>
  void KernelBf16(const uint32_t* a, const uint16_t* panel, float* c, int64_t ldc, int cols,
                  bool accumulate) const {
    __m512 lo[MR], hi[MR];
    for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
    for (int64_t kk = 0; kk < K2_; ++kk) {
      const __m512bh b0 = (__m512bh)_mm512_load_si512(panel + kk * kCols * 2);
      const __m512bh b1 = (__m512bh)_mm512_load_si512(panel + kk * kCols * 2 + 32);
      for (int r = 0; r < MR; ++r) {
        const __m512bh x = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r * K2_ + kk]));
        lo[r] = _mm512_dpbf16_ps(lo[r], x, b0);
        hi[r] = _mm512_dpbf16_ps(hi[r], x, b1);
      }
    }
    for (int r = 0; r < MR; ++r) Store(c + r * ldc, lo[r], hi[r], cols, accumulate);
  }
#else
  void ApplyBf16(const float*, int64_t, int64_t, float*, int64_t, bool) const {}
#endif
#endif

  const float* src_;
  int64_t K_, N_, sk_, sn_, K2_ = 0;
  bool bf16_;
  Tensor packed_;
};

// Every op's attribute ``bf16``: the recurrent matmuls in bfloat16 (see RecurrentMatmul).
class RecurrentOp : public OpKernel {
 public:
  explicit RecurrentOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("bf16", &bf16_));
    OP_REQUIRES(ctx, !bf16_ || RNNKIT_BF16,
                errors::InvalidArgument("rnnkit: bf16 needs a build with AVX512_BF16"));
  }

 protected:
  bool bf16_ = false;
};

REGISTER_OP("RnnkitLstmForward")
    .Input("xp: float")        // [T, B, 4H], gate order i, f, o, g
    .Input("h0: float")        // [B, H]
    .Input("c0: float")        // [B, H]
    .Input("kernel: float")    // [H, 4H]
    .Input("mask: float")      // [T, B, 1] or [0]
    .Input("rec_mask: float")  // [B, H] or [0]
    .Output("hs: float")       // [T, B, H]
    .Output("cs: float")       // [T, B, H]
    .Output("gates: float")    // [T, B, 4H] after the activations
    .Attr("bf16: bool = false")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      auto xp = c->input(0);
      auto h0 = c->input(1);
      shape_inference::ShapeHandle seq;
      TF_RETURN_IF_ERROR(c->ReplaceDim(xp, 2, c->Dim(h0, 1), &seq));
      c->set_output(0, seq);
      c->set_output(1, seq);
      c->set_output(2, xp);
      return OkStatus();
    });

class LstmForwardOp : public RecurrentOp {
 public:
  explicit LstmForwardOp(OpKernelConstruction* ctx) : RecurrentOp(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& xp = ctx->input(0);
    const Tensor& h0 = ctx->input(1);
    const Tensor& c0 = ctx->input(2);
    const Tensor& kernel = ctx->input(3);
    const Tensor& mask = ctx->input(4);
    const Tensor& rec_mask = ctx->input(5);
    const int64_t T = xp.dim_size(0), B = xp.dim_size(1), H = h0.dim_size(1), G = 4 * H;
    OP_REQUIRES(ctx, xp.dim_size(2) == G && kernel.dim_size(0) == H && kernel.dim_size(1) == G,
                errors::InvalidArgument("RnnkitLstmForward: inconsistent shapes"));
    const bool has_mask = mask.NumElements() > 0, has_rec = rec_mask.NumElements() > 0;
    Tensor *hs, *cs, *gates;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, H}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({T, B, H}), &cs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({T, B, G}), &gates));
    const float* xp_p = xp.flat<float>().data();
    const float* m_p = has_mask ? mask.flat<float>().data() : nullptr;
    const float* rm_p = has_rec ? rec_mask.flat<float>().data() : nullptr;
    float* hs_p = hs->flat<float>().data();
    float* cs_p = cs->flat<float>().data();
    float* g_p = gates->flat<float>().data();
    const RecurrentMatmul U(ctx, kernel.flat<float>().data(), H, G, G, 1, bf16_); if (!ctx->status().ok()) return;
    const float* h0_p = h0.flat<float>().data();
    const float* c0_p = c0.flat<float>().data();

    auto work = [&](int64_t b0, int64_t b1) {
      const int64_t n = b1 - b0;
      Mat h_in(n, H), c_new(n, H), h_new(n, H);
      for (int64_t t = 0; t < T; ++t) {
        const float* h_prev = t == 0 ? h0_p + b0 * H : hs_p + ((t - 1) * B + b0) * H;
        const float* c_prev = t == 0 ? c0_p + b0 * H : cs_p + ((t - 1) * B + b0) * H;
        CMap hp = cblock(h_prev, n, H, H), cp = cblock(c_prev, n, H, H);
        Map z = block(g_p + (t * B + b0) * G, n, G, G);
        z = cblock(xp_p + (t * B + b0) * G, n, G, G);
        if (rm_p) {
          h_in = hp.array() * cblock(rm_p + b0 * H, n, H, H).array();
          U.Apply(h_in.data(), n, H, z.data(), G, true);
        } else {
          U.Apply(hp.data(), n, H, z.data(), G, true);
        }
        z.leftCols(3 * H) = z.leftCols(3 * H).array().logistic();
        z.rightCols(H) = z.rightCols(H).array().tanh();
        auto i = z.leftCols(H).array();
        auto f = z.middleCols(H, H).array();
        auto o = z.middleCols(2 * H, H).array();
        auto g = z.rightCols(H).array();
        Map hn = block(hs_p + (t * B + b0) * H, n, H, H);
        Map cn = block(cs_p + (t * B + b0) * H, n, H, H);
        cn = f * cp.array() + i * g;
        hn = o * cn.array().tanh();
        if (m_p) {
          for (int64_t r = 0; r < n; ++r) {
            if (m_p[t * B + b0 + r] == 0.f) {
              hn.row(r) = hp.row(r);
              cn.row(r) = cp.row(r);
            }
          }
        }
      }
    };
    RunBlocks(ctx, B, work);
  }
};
REGISTER_KERNEL_BUILDER(Name("RnnkitLstmForward").Device(DEVICE_CPU), LstmForwardOp);

REGISTER_OP("RnnkitLstmBackward")
    .Input("d_hs: float")      // [T, B, H] gradient of every output
    .Input("dh: float")        // [B, H] gradient of the final h (beyond d_hs[-1])
    .Input("dc: float")        // [B, H] gradient of the final c
    .Input("cs: float")        // [T, B, H] from the forward op
    .Input("gates: float")     // [T, B, 4H] from the forward op
    .Input("c0: float")        // [B, H]
    .Input("kernel: float")    // [H, 4H]
    .Input("mask: float")      // [T, B, 1] or [0]
    .Input("rec_mask: float")  // [B, H] or [0]
    .Output("dz: float")       // [T, B, 4H] gradient of the gate pre-activations
    .Output("dh0: float")      // [B, H]
    .Output("dc0: float")      // [B, H]
    .Attr("bf16: bool = false")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(4));
      c->set_output(1, c->input(1));
      c->set_output(2, c->input(2));
      return OkStatus();
    });

class LstmBackwardOp : public RecurrentOp {
 public:
  explicit LstmBackwardOp(OpKernelConstruction* ctx) : RecurrentOp(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& d_hs = ctx->input(0);
    const Tensor& dh_in = ctx->input(1);
    const Tensor& dc_in = ctx->input(2);
    const Tensor& cs = ctx->input(3);
    const Tensor& gates = ctx->input(4);
    const Tensor& c0 = ctx->input(5);
    const Tensor& kernel = ctx->input(6);
    const Tensor& mask = ctx->input(7);
    const Tensor& rec_mask = ctx->input(8);
    const int64_t T = gates.dim_size(0), B = gates.dim_size(1), H = c0.dim_size(1), G = 4 * H;
    OP_REQUIRES(ctx, gates.dim_size(2) == G && kernel.dim_size(0) == H && kernel.dim_size(1) == G,
                errors::InvalidArgument("RnnkitLstmBackward: inconsistent shapes"));
    Tensor *dz_t, *dh0_t, *dc0_t;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, G}), &dz_t));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({B, H}), &dh0_t));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({B, H}), &dc0_t));
    const float* dhs_p = d_hs.flat<float>().data();
    const float* cs_p = cs.flat<float>().data();
    const float* g_p = gates.flat<float>().data();
    const float* c0_p = c0.flat<float>().data();
    const float* m_p = mask.NumElements() > 0 ? mask.flat<float>().data() : nullptr;
    const float* rm_p = rec_mask.NumElements() > 0 ? rec_mask.flat<float>().data() : nullptr;
    float* dz_p = dz_t->flat<float>().data();
    const RecurrentMatmul Ut(ctx, kernel.flat<float>().data(), G, H, 1, G, bf16_); if (!ctx->status().ok()) return;

    auto work = [&](int64_t b0, int64_t b1) {
      const int64_t n = b1 - b0;
      Mat dh = cblock(dh_in.flat<float>().data() + b0 * H, n, H, H);
      Mat dc = cblock(dc_in.flat<float>().data() + b0 * H, n, H, H);
      Mat tc(n, H), dh_prev(n, H), dh_keep, dc_keep;
      for (int64_t t = T - 1; t >= 0; --t) {
        dh += cblock(dhs_p + (t * B + b0) * H, n, H, H);
        CMap a = cblock(g_p + (t * B + b0) * G, n, G, G);
        CMap c = cblock(cs_p + (t * B + b0) * H, n, H, H);
        CMap cp = cblock(t == 0 ? c0_p + b0 * H : cs_p + ((t - 1) * B + b0) * H, n, H, H);
        auto i = a.leftCols(H).array();
        auto f = a.middleCols(H, H).array();
        auto o = a.middleCols(2 * H, H).array();
        auto g = a.rightCols(H).array();
        // A padded step passes dh and dc through unchanged and gets no gate gradient.
        const float* m = m_p ? m_p + t * B + b0 : nullptr;
        if (m) {
          dh_keep = dh;
          dc_keep = dc;
          for (int64_t r = 0; r < n; ++r) {
            if (m[r] == 0.f) {
              dh.row(r).setZero();
              dc.row(r).setZero();
            }
          }
        }
        tc = c.array().tanh();
        dc.array() += dh.array() * o * (1.f - tc.array().square());
        Map dz = block(dz_p + (t * B + b0) * G, n, G, G);
        dz.leftCols(H) = dc.array() * g * i * (1.f - i);
        dz.middleCols(H, H) = dc.array() * cp.array() * f * (1.f - f);
        dz.middleCols(2 * H, H) = dh.array() * tc.array() * o * (1.f - o);
        dz.rightCols(H) = dc.array() * i * (1.f - g.square());
        Ut.Apply(dz.data(), n, G, dh_prev.data(), H, false);
        if (rm_p) dh_prev.array() *= cblock(rm_p + b0 * H, n, H, H).array();
        dh.swap(dh_prev);
        dc.array() *= f;
        if (m) {
          for (int64_t r = 0; r < n; ++r) {
            if (m[r] == 0.f) {
              dh.row(r) = dh_keep.row(r);
              dc.row(r) = dc_keep.row(r);
            }
          }
        }
      }
      block(dh0_t->flat<float>().data() + b0 * H, n, H, H) = dh;
      block(dc0_t->flat<float>().data() + b0 * H, n, H, H) = dc;
    };
    RunBlocks(ctx, B, work);
  }
};
REGISTER_KERNEL_BUILDER(Name("RnnkitLstmBackward").Device(DEVICE_CPU), LstmBackwardOp);

REGISTER_OP("RnnkitGruForward")
    .Input("xp: float")              // [T, B, 3H], gate order z, r, h
    .Input("h0: float")              // [B, H]
    .Input("kernel: float")          // [H, 3H]
    .Input("recurrent_bias: float")  // [3H]
    .Input("mask: float")            // [T, B, 1] or [0]
    .Input("rec_mask: float")        // [B, H] or [0]
    .Output("hs: float")             // [T, B, H]
    .Output("gates: float")          // [T, B, 3H]: z, r and the candidate state
    .Output("uh: float")             // [T, B, H]: the h part of h_{t-1} @ U + b
    .Attr("bf16: bool = false")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle seq;
      TF_RETURN_IF_ERROR(c->ReplaceDim(c->input(0), 2, c->Dim(c->input(1), 1), &seq));
      c->set_output(0, seq);
      c->set_output(1, c->input(0));
      c->set_output(2, seq);
      return OkStatus();
    });

class GruForwardOp : public RecurrentOp {
 public:
  explicit GruForwardOp(OpKernelConstruction* ctx) : RecurrentOp(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& xp = ctx->input(0);
    const Tensor& h0 = ctx->input(1);
    const Tensor& kernel = ctx->input(2);
    const Tensor& bias = ctx->input(3);
    const Tensor& mask = ctx->input(4);
    const Tensor& rec_mask = ctx->input(5);
    const int64_t T = xp.dim_size(0), B = xp.dim_size(1), H = h0.dim_size(1), G = 3 * H;
    OP_REQUIRES(ctx, xp.dim_size(2) == G && kernel.dim_size(0) == H &&
                         kernel.dim_size(1) == G && bias.NumElements() == G,
                errors::InvalidArgument("RnnkitGruForward: inconsistent shapes"));
    Tensor *hs, *gates, *uh;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, H}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({T, B, G}), &gates));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({T, B, H}), &uh));
    const float* xp_p = xp.flat<float>().data();
    const float* h0_p = h0.flat<float>().data();
    const float* m_p = mask.NumElements() > 0 ? mask.flat<float>().data() : nullptr;
    const float* rm_p = rec_mask.NumElements() > 0 ? rec_mask.flat<float>().data() : nullptr;
    float* hs_p = hs->flat<float>().data();
    float* g_p = gates->flat<float>().data();
    float* uh_p = uh->flat<float>().data();
    const RecurrentMatmul U(ctx, kernel.flat<float>().data(), H, G, G, 1, bf16_); if (!ctx->status().ok()) return;
    CMap b = cblock(bias.flat<float>().data(), 1, G, G);

    auto work = [&](int64_t b0, int64_t b1) {
      const int64_t n = b1 - b0;
      Mat h_in(n, H), u(n, G);
      for (int64_t t = 0; t < T; ++t) {
        CMap hp = cblock(t == 0 ? h0_p + b0 * H : hs_p + ((t - 1) * B + b0) * H, n, H, H);
        if (rm_p) {
          h_in = hp.array() * cblock(rm_p + b0 * H, n, H, H).array();
          U.Apply(h_in.data(), n, H, u.data(), G, false);
        } else {
          U.Apply(hp.data(), n, H, u.data(), G, false);
        }
        u.rowwise() += b.row(0);
        CMap x = cblock(xp_p + (t * B + b0) * G, n, G, G);
        Map a = block(g_p + (t * B + b0) * G, n, G, G);
        a.leftCols(2 * H) = (x.leftCols(2 * H) + u.leftCols(2 * H)).array().logistic();
        a.rightCols(H) =
            (x.rightCols(H).array() + a.middleCols(H, H).array() * u.rightCols(H).array()).tanh();
        block(uh_p + (t * B + b0) * H, n, H, H) = u.rightCols(H);
        auto z = a.leftCols(H).array();
        auto hh = a.rightCols(H).array();
        Map hn = block(hs_p + (t * B + b0) * H, n, H, H);
        hn = hh + z * (hp.array() - hh);
        if (m_p) {
          for (int64_t r = 0; r < n; ++r) {
            if (m_p[t * B + b0 + r] == 0.f) hn.row(r) = hp.row(r);
          }
        }
      }
    };
    RunBlocks(ctx, B, work);
  }
};
REGISTER_KERNEL_BUILDER(Name("RnnkitGruForward").Device(DEVICE_CPU), GruForwardOp);

REGISTER_OP("RnnkitGruBackward")
    .Input("d_hs: float")      // [T, B, H]
    .Input("dh: float")        // [B, H]
    .Input("hs: float")        // [T, B, H]
    .Input("gates: float")     // [T, B, 3H] from the forward op
    .Input("uh: float")        // [T, B, H] from the forward op
    .Input("h0: float")        // [B, H]
    .Input("kernel: float")    // [H, 3H]
    .Input("mask: float")      // [T, B, 1] or [0]
    .Input("rec_mask: float")  // [B, H] or [0]
    .Output("dx: float")       // [T, B, 3H] gradient of xp
    .Output("du: float")       // [T, B, 3H] gradient of h_{t-1} @ U + b
    .Output("dh0: float")      // [B, H]
    .Attr("bf16: bool = false")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(3));
      c->set_output(1, c->input(3));
      c->set_output(2, c->input(1));
      return OkStatus();
    });

class GruBackwardOp : public RecurrentOp {
 public:
  explicit GruBackwardOp(OpKernelConstruction* ctx) : RecurrentOp(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& d_hs = ctx->input(0);
    const Tensor& dh_in = ctx->input(1);
    const Tensor& hs = ctx->input(2);
    const Tensor& gates = ctx->input(3);
    const Tensor& uh = ctx->input(4);
    const Tensor& h0 = ctx->input(5);
    const Tensor& kernel = ctx->input(6);
    const Tensor& mask = ctx->input(7);
    const Tensor& rec_mask = ctx->input(8);
    const int64_t T = gates.dim_size(0), B = gates.dim_size(1), H = h0.dim_size(1), G = 3 * H;
    OP_REQUIRES(ctx, gates.dim_size(2) == G && kernel.dim_size(0) == H && kernel.dim_size(1) == G,
                errors::InvalidArgument("RnnkitGruBackward: inconsistent shapes"));
    Tensor *dx_t, *du_t, *dh0_t;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, G}), &dx_t));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({T, B, G}), &du_t));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({B, H}), &dh0_t));
    const float* dhs_p = d_hs.flat<float>().data();
    const float* hs_p = hs.flat<float>().data();
    const float* g_p = gates.flat<float>().data();
    const float* uh_p = uh.flat<float>().data();
    const float* h0_p = h0.flat<float>().data();
    const float* m_p = mask.NumElements() > 0 ? mask.flat<float>().data() : nullptr;
    const float* rm_p = rec_mask.NumElements() > 0 ? rec_mask.flat<float>().data() : nullptr;
    float* dx_p = dx_t->flat<float>().data();
    float* du_p = du_t->flat<float>().data();
    const RecurrentMatmul Ut(ctx, kernel.flat<float>().data(), G, H, 1, G, bf16_); if (!ctx->status().ok()) return;

    auto work = [&](int64_t b0, int64_t b1) {
      const int64_t n = b1 - b0;
      Mat dh = cblock(dh_in.flat<float>().data() + b0 * H, n, H, H);
      Mat dh_prev(n, H), dh_keep;
      for (int64_t t = T - 1; t >= 0; --t) {
        dh += cblock(dhs_p + (t * B + b0) * H, n, H, H);
        CMap a = cblock(g_p + (t * B + b0) * G, n, G, G);
        CMap hp = cblock(t == 0 ? h0_p + b0 * H : hs_p + ((t - 1) * B + b0) * H, n, H, H);
        CMap u_h = cblock(uh_p + (t * B + b0) * H, n, H, H);
        auto z = a.leftCols(H).array();
        auto r = a.middleCols(H, H).array();
        auto hh = a.rightCols(H).array();
        const float* m = m_p ? m_p + t * B + b0 : nullptr;
        if (m) {
          dh_keep = dh;
          for (int64_t i = 0; i < n; ++i) {
            if (m[i] == 0.f) dh.row(i).setZero();
          }
        }
        Map dx = block(dx_p + (t * B + b0) * G, n, G, G);
        Map du = block(du_p + (t * B + b0) * G, n, G, G);
        dx.rightCols(H) = dh.array() * (1.f - z) * (1.f - hh.square());
        dx.leftCols(H) = dh.array() * (hp.array() - hh) * z * (1.f - z);
        dx.middleCols(H, H) = dx.rightCols(H).array() * u_h.array() * r * (1.f - r);
        du.leftCols(2 * H) = dx.leftCols(2 * H);
        du.rightCols(H) = dx.rightCols(H).array() * r;
        Ut.Apply(du.data(), n, G, dh_prev.data(), H, false);
        if (rm_p) dh_prev.array() *= cblock(rm_p + b0 * H, n, H, H).array();
        dh_prev.array() += dh.array() * z;
        dh.swap(dh_prev);
        if (m) {
          for (int64_t i = 0; i < n; ++i) {
            if (m[i] == 0.f) dh.row(i) = dh_keep.row(i);
          }
        }
      }
      block(dh0_t->flat<float>().data() + b0 * H, n, H, H) = dh;
    };
    RunBlocks(ctx, B, work);
  }
};
REGISTER_KERNEL_BUILDER(Name("RnnkitGruBackward").Device(DEVICE_CPU), GruBackwardOp);

// The Elman cell's activation, and its derivative from the activation's output y
// (so the forward pass keeps only the states).
enum class Act { kTanh, kSigmoid, kRelu, kLinear };

Act ParseAct(const std::string& name) {
  if (name == "sigmoid") return Act::kSigmoid;
  if (name == "relu") return Act::kRelu;
  if (name == "linear") return Act::kLinear;
  return Act::kTanh;
}

template <typename Block>
void Activate(Act act, Block&& z) {
  switch (act) {
    case Act::kTanh: z = z.array().tanh(); break;
    case Act::kSigmoid: z = z.array().logistic(); break;
    case Act::kRelu: z = z.array().max(0.f); break;
    case Act::kLinear: break;
  }
}

// dz = dy * f'(x), written with y = f(x).
template <typename Out, typename Y, typename D>
void ActivationGrad(Act act, Out&& dz, const Y& y, const D& dy) {
  switch (act) {
    case Act::kTanh: dz = dy.array() * (1.f - y.array().square()); break;
    case Act::kSigmoid: dz = dy.array() * y.array() * (1.f - y.array()); break;
    case Act::kRelu: dz = (y.array() > 0.f).select(dy.array(), 0.f); break;
    case Act::kLinear: dz = dy; break;
  }
}

// An Elman op: its activation attribute, read once.
class ElmanOp : public RecurrentOp {
 public:
  explicit ElmanOp(OpKernelConstruction* ctx) : RecurrentOp(ctx) {
    std::string name;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("activation", &name));
    act_ = ParseAct(name);
  }

 protected:
  Act act_;
};

REGISTER_OP("RnnkitElmanForward")
    .Input("xp: float")        // [T, B, H] input projection with bias
    .Input("h0: float")        // [B, H]
    .Input("kernel: float")    // [H, H]
    .Input("mask: float")      // [T, B, 1] or [0]
    .Input("rec_mask: float")  // [B, H] or [0]
    .Attr("activation: {'tanh', 'sigmoid', 'relu', 'linear'} = 'tanh'")
    .Output("hs: float")  // [T, B, H]
    .Attr("bf16: bool = false")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(0));
      return OkStatus();
    });

class ElmanForwardOp : public ElmanOp {
 public:
  explicit ElmanForwardOp(OpKernelConstruction* ctx) : ElmanOp(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& xp = ctx->input(0);
    const Tensor& h0 = ctx->input(1);
    const Tensor& kernel = ctx->input(2);
    const Tensor& mask = ctx->input(3);
    const Tensor& rec_mask = ctx->input(4);
    const int64_t T = xp.dim_size(0), B = xp.dim_size(1), H = h0.dim_size(1);
    OP_REQUIRES(ctx, xp.dim_size(2) == H && kernel.dim_size(0) == H && kernel.dim_size(1) == H,
                errors::InvalidArgument("RnnkitElmanForward: inconsistent shapes"));
    Tensor* hs;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, H}), &hs));
    const float* xp_p = xp.flat<float>().data();
    const float* h0_p = h0.flat<float>().data();
    const float* m_p = mask.NumElements() > 0 ? mask.flat<float>().data() : nullptr;
    const float* rm_p = rec_mask.NumElements() > 0 ? rec_mask.flat<float>().data() : nullptr;
    float* hs_p = hs->flat<float>().data();
    const RecurrentMatmul U(ctx, kernel.flat<float>().data(), H, H, H, 1, bf16_); if (!ctx->status().ok()) return;
    const Act act = act_;

    auto work = [&](int64_t b0, int64_t b1) {
      const int64_t n = b1 - b0;
      Mat h_in(n, H);
      for (int64_t t = 0; t < T; ++t) {
        CMap hp = cblock(t == 0 ? h0_p + b0 * H : hs_p + ((t - 1) * B + b0) * H, n, H, H);
        Map hn = block(hs_p + (t * B + b0) * H, n, H, H);
        hn = cblock(xp_p + (t * B + b0) * H, n, H, H);
        if (rm_p) {
          h_in = hp.array() * cblock(rm_p + b0 * H, n, H, H).array();
          U.Apply(h_in.data(), n, H, hn.data(), H, true);
        } else {
          U.Apply(hp.data(), n, H, hn.data(), H, true);
        }
        Activate(act, hn);
        if (m_p) {
          for (int64_t r = 0; r < n; ++r) {
            if (m_p[t * B + b0 + r] == 0.f) hn.row(r) = hp.row(r);
          }
        }
      }
    };
    RunBlocks(ctx, B, work);
  }
};
REGISTER_KERNEL_BUILDER(Name("RnnkitElmanForward").Device(DEVICE_CPU), ElmanForwardOp);

REGISTER_OP("RnnkitElmanBackward")
    .Input("d_hs: float")      // [T, B, H]
    .Input("dh: float")        // [B, H] gradient of the final h (beyond d_hs[-1])
    .Input("hs: float")        // [T, B, H] from the forward op
    .Input("kernel: float")    // [H, H]
    .Input("mask: float")      // [T, B, 1] or [0]
    .Input("rec_mask: float")  // [B, H] or [0]
    .Attr("activation: {'tanh', 'sigmoid', 'relu', 'linear'} = 'tanh'")
    .Output("dz: float")   // [T, B, H] gradient of the pre-activations (and of xp)
    .Output("dh0: float")  // [B, H]
    .Attr("bf16: bool = false")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(2));
      c->set_output(1, c->input(1));
      return OkStatus();
    });

class ElmanBackwardOp : public ElmanOp {
 public:
  explicit ElmanBackwardOp(OpKernelConstruction* ctx) : ElmanOp(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& d_hs = ctx->input(0);
    const Tensor& dh_in = ctx->input(1);
    const Tensor& hs = ctx->input(2);
    const Tensor& kernel = ctx->input(3);
    const Tensor& mask = ctx->input(4);
    const Tensor& rec_mask = ctx->input(5);
    const int64_t T = hs.dim_size(0), B = hs.dim_size(1), H = hs.dim_size(2);
    OP_REQUIRES(ctx, kernel.dim_size(0) == H && kernel.dim_size(1) == H,
                errors::InvalidArgument("RnnkitElmanBackward: inconsistent shapes"));
    Tensor *dz_t, *dh0_t;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({T, B, H}), &dz_t));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({B, H}), &dh0_t));
    const float* dhs_p = d_hs.flat<float>().data();
    const float* hs_p = hs.flat<float>().data();
    const float* m_p = mask.NumElements() > 0 ? mask.flat<float>().data() : nullptr;
    const float* rm_p = rec_mask.NumElements() > 0 ? rec_mask.flat<float>().data() : nullptr;
    float* dz_p = dz_t->flat<float>().data();
    const RecurrentMatmul Ut(ctx, kernel.flat<float>().data(), H, H, 1, H, bf16_); if (!ctx->status().ok()) return;
    const Act act = act_;

    auto work = [&](int64_t b0, int64_t b1) {
      const int64_t n = b1 - b0;
      Mat dh = cblock(dh_in.flat<float>().data() + b0 * H, n, H, H);
      Mat dh_prev(n, H), dh_keep;
      for (int64_t t = T - 1; t >= 0; --t) {
        dh += cblock(dhs_p + (t * B + b0) * H, n, H, H);
        // A padded step passes dh through unchanged and gets no gradient of its own.
        const float* m = m_p ? m_p + t * B + b0 : nullptr;
        if (m) {
          dh_keep = dh;
          for (int64_t r = 0; r < n; ++r) {
            if (m[r] == 0.f) dh.row(r).setZero();
          }
        }
        Map dz = block(dz_p + (t * B + b0) * H, n, H, H);
        ActivationGrad(act, dz, cblock(hs_p + (t * B + b0) * H, n, H, H), dh);
        Ut.Apply(dz.data(), n, H, dh_prev.data(), H, false);
        if (rm_p) dh_prev.array() *= cblock(rm_p + b0 * H, n, H, H).array();
        dh.swap(dh_prev);
        if (m) {
          for (int64_t r = 0; r < n; ++r) {
            if (m[r] == 0.f) dh.row(r) = dh_keep.row(r);
          }
        }
      }
      block(dh0_t->flat<float>().data() + b0 * H, n, H, H) = dh;
    };
    RunBlocks(ctx, B, work);
  }
};
REGISTER_KERNEL_BUILDER(Name("RnnkitElmanBackward").Device(DEVICE_CPU), ElmanBackwardOp);

}  // namespace rnnkit
