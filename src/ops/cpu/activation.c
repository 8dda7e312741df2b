/* Activation kernels with fused backward; formulas as PyTorch's CPU kernels (the branch taken at
 * each boundary included) so that gradients match at the edges. */
#include <math.h>

#include "activation.h"
#include "pointwise_kernel.h"
#include "vmath.h"

#define SQRT1_2 0.70710678118654752440f
#define SQRT2PI_INV 0.39894228040143267794f /* 1 / sqrt(2 pi) */
#define GELU_BETA 0.79788456080286535588f   /* sqrt(2 / pi) */
#define GELU_KAPPA 0.044715f

static inline float gelu_tanh_grad(float v) {
    float t = fci_vtanhf(GELU_BETA * (v + GELU_KAPPA * v * v * v));
    return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_BETA * (1.0f + 3.0f * GELU_KAPPA * v * v);
}
static inline float silu_grad(float v) {
    float s = 1.0f / (1.0f + fci_vexpf(-v));
    return s * (1.0f + v * (1.0f - s));
}

#define PARAMS
FWD(relu, v > 0.0f ? v : 0.0f)
BWD(relu, r > 0.0f ? g : 0.0f) /* threshold_backward on the result */
/* x * Phi(x), Phi the normal CDF */
FWD(gelu, 0.5f * v * (1.0f + fci_verff(v * SQRT1_2)))
BWD(gelu, g * (0.5f * (1.0f + fci_verff(v * SQRT1_2)) + v * SQRT2PI_INV * fci_vexpf(-0.5f * v * v)))
FWD(gelu_tanh, 0.5f * v * (1.0f + fci_vtanhf(GELU_BETA * (v + GELU_KAPPA * v * v * v))))
BWD(gelu_tanh, g * gelu_tanh_grad(v))
FWD(silu, v / (1.0f + fci_vexpf(-v)))
BWD(silu, g * silu_grad(v))
FWD(sigmoid, 1.0f / (1.0f + fci_vexpf(-v)))
BWD(sigmoid, g * r * (1.0f - r))
FWD(tanh, fci_vtanhf(v))
BWD(tanh, g * (1.0f - r * r))
/* x * relu6(x + 3) / 6; the gradient takes the middle branch at -3 and 3, as PyTorch */
FWD(hardswish, v * fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f)
BWD(hardswish, v < -3.0f ? 0.0f : (v <= 3.0f ? g * (v / 3.0f + 0.5f) : g))
#undef PARAMS

#define PARAMS const float slope = (float)p[0];
FWD(leaky_relu, v > 0.0f ? v : v * slope)
BWD(leaky_relu, v > 0.0f ? g : g * slope)
#undef PARAMS

/* log(1 + exp(beta x)) / beta, linear where beta x > threshold (for stability), as PyTorch */
#define PARAMS const float beta = (float)p[0], threshold = (float)p[1];
FWD(softplus, v * beta > threshold ? v : fci_vsoftplusf(v * beta) / beta)
BWD(softplus, v * beta > threshold ? g : g * (1.0f - 1.0f / (1.0f + fci_vexpf(v * beta))))
#undef PARAMS
