/* The CUDA emulator's stand-in for the toolkit's library_types.h: the element types cuBLASLt and
 * cuDNN descriptors name. Only what fastc uses; the values are the toolkit's. */
#ifndef FCE_LIBRARY_TYPES_H
#define FCE_LIBRARY_TYPES_H

typedef enum cudaDataType_t {
    CUDA_R_32F = 0,
    CUDA_R_64F = 1,
    CUDA_R_16F = 2,
    CUDA_R_8I = 3,
    CUDA_R_32I = 10,
    CUDA_R_16BF = 14,
} cudaDataType_t;

#endif
