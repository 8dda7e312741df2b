// FCI_LAUNCH(grid, block, smem, stream, kernel)(args...) is kernel<<<grid, block, smem, stream>>>(args...)
// written so that the host compiler can read it too: a FASTC_CUDA=EMU build (tests/cuda_emu) runs
// the same kernels on the CPU under a CUDA emulator, where fce::launch runs the grid. The kernel
// comes last so that a template argument list with commas needs no parentheses.
#ifndef FASTC_CUDA_LAUNCH_CUH
#define FASTC_CUDA_LAUNCH_CUH

#ifdef FASTC_CUDA_EMU
#define FCI_LAUNCH(grid, block, smem, stream, ...) fce::launch(grid, block, smem, stream, __VA_ARGS__, #__VA_ARGS__)
#else
#define FCI_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#endif

#endif
