# ---- the CUDA backend (issue 9) -----------------------------------------------------------------
# FASTC_CUDA: AUTO (default) builds it when nvcc is found and is silent otherwise, so a machine
# without the toolkit builds the CPU library exactly as before; ON insists (a clear error when nvcc
# is missing); OFF never builds it. Included by CMakeLists.txt after the library targets exist:
# the CUDA sources go into their own object library (nvcc must not see the C flags) whose objects
# join fastc_shared and fastc_static.
# EMU builds the backend with the host compiler against the CUDA emulator (tests/cuda_emu): no
# toolkit, no GPU; the device tests then run on the CPU (a separate build folder, `make check-emu`).
set(FASTC_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO (when nvcc is found), ON, OFF or EMU")
set_property(CACHE FASTC_CUDA PROPERTY STRINGS AUTO ON OFF EMU)

set(FASTC_CUDA_ENABLED OFF)
if(FASTC_CUDA STREQUAL "EMU")
  include(cmake/cuda_emu.cmake)
elseif(NOT FASTC_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)  # the toolkit's default place, maybe off PATH
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(FASTC_CUDA_ENABLED ON)
  elseif(FASTC_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FASTC_CUDA=ON but no CUDA compiler (nvcc) was found: install the CUDA "
      "toolkit (https://developer.nvidia.com/cuda-downloads; Debian: 'apt-get install "
      "nvidia-cuda-toolkit'), put nvcc on PATH or pass -DCMAKE_CUDA_COMPILER=/path/to/nvcc, or "
      "configure with -DFASTC_CUDA=OFF (or AUTO) for the CPU-only library")
  endif()
endif()

if(FASTC_CUDA_ENABLED)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)  # A100, H100 (no GPU is needed at build time)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include /usr/local/include)
  find_library(CUDNN_LIBRARY NAMES cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
  if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
    message(FATAL_ERROR "cuDNN not found (needed by the CUDA backend): install cuDNN 9 "
      "('apt-get install cudnn9-cuda-13' from NVIDIA's repository) or configure with -DFASTC_CUDA=OFF")
  endif()
  message(STATUS "CUDA backend: ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES}; cuDNN: ${CUDNN_LIBRARY})")

  # NCCL (data-parallel training of models on the GPU, src/learner/comm_nccl.c): optional; it also
  # needs MPI, which starts the job and carries NCCL's unique id. FASTC_NCCL: AUTO (default), ON
  # (required) or OFF. Without it a CUDA model asked to train distributed fails with "built without
  # NCCL".
  set(FASTC_NCCL AUTO CACHE STRING "NCCL for distributed training on CUDA: AUTO (when found with MPI), ON or OFF")
  set_property(CACHE FASTC_NCCL PROPERTY STRINGS AUTO ON OFF)
  set(FASTC_HAVE_NCCL OFF)
  if(NOT FASTC_NCCL STREQUAL "OFF")
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include /usr/include)
    find_library(NCCL_LIBRARY NAMES nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
    if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY AND FASTC_HAVE_MPI)
      set(FASTC_HAVE_NCCL ON)
      message(STATUS "NCCL: ${NCCL_LIBRARY} (distributed training of CUDA models on)")
    elseif(FASTC_NCCL STREQUAL "ON")
      message(FATAL_ERROR "FASTC_NCCL=ON but NCCL (nccl.h, libnccl) or MPI was not found: install NCCL "
        "('apt-get install libnccl-dev' from NVIDIA's repository) and MPI ('apt-get install openmpi-bin libopenmpi-dev'), "
        "or configure with -DFASTC_NCCL=OFF")
    else()
      message(STATUS "NCCL: off (nccl.h/libnccl ${NCCL_LIBRARY}, MPI ${FASTC_HAVE_MPI}); CUDA models train on one GPU")
    endif()
  endif()
  if(FASTC_HAVE_NCCL)
    set_property(SOURCE src/learner/comm_nccl.c src/learner/distributed.c APPEND PROPERTY COMPILE_DEFINITIONS FASTC_HAVE_NCCL)
    set_property(SOURCE src/learner/comm_nccl.c APPEND PROPERTY INCLUDE_DIRECTORIES
      ${CUDAToolkit_INCLUDE_DIRS} ${NCCL_INCLUDE_DIR})
    foreach(t fastc_shared fastc_static)
      target_link_libraries(${t} PUBLIC ${NCCL_LIBRARY})
    endforeach()
  endif()

  file(GLOB FASTC_CUDA_SOURCES CONFIGURE_DEPENDS src/ops/cuda/*.cu src/ops/cuda/*.c src/core/cuda_*.c)
  add_library(fastc_cuda_obj OBJECT ${FASTC_CUDA_SOURCES})
  set_target_properties(fastc_cuda_obj PROPERTIES POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden CUDA_VISIBILITY_PRESET hidden CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_include_directories(fastc_cuda_obj PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src
    ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
  target_compile_definitions(fastc_cuda_obj PRIVATE FASTC_CUDA=1)
  target_compile_options(fastc_cuda_obj PRIVATE
    $<$<COMPILE_LANGUAGE:C>:${FASTC_WARNINGS}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Wno-unused-parameter --Werror=all-warnings>)
  # the C library's dispatch (tensor.c, ops) routes CUDA tensors here
  target_compile_definitions(fastc_obj PRIVATE FASTC_CUDA=1)
  foreach(t fastc_shared fastc_static)
    target_sources(${t} PRIVATE $<TARGET_OBJECTS:fastc_cuda_obj>)
    set_target_properties(${t} PROPERTIES CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")
    target_link_libraries(${t} PUBLIC CUDA::cudart CUDA::cublas CUDA::cublasLt ${CUDNN_LIBRARY})
  endforeach()

  # tests/cuda: built only here; without a GPU it checks the "no device" errors and skips the
  # parity runs loudly (scripts/gpu-check.sh runs it on a GPU machine)
  file(GLOB cuda_tests CONFIGURE_DEPENDS tests/cuda/*.c)
  if(cuda_tests)
    add_executable(test_cuda ${cuda_tests})
    target_link_libraries(test_cuda PRIVATE fct)
    target_include_directories(test_cuda PRIVATE src tests)
    target_compile_options(test_cuda PRIVATE ${FASTC_WARNINGS})
    target_compile_definitions(test_cuda PRIVATE FASTC_CUDA=1) # the host-side internals (cuda_impl.h)
    enable_testing()
    add_test(NAME cuda COMMAND test_cuda)
    set_tests_properties(cuda PROPERTIES ENVIRONMENT "FASTC_FIXTURES=${PROJECT_SOURCE_DIR}/tests/fixtures;OMP_NUM_THREADS=2"
      WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  endif()
  # the NCCL backend on GPUs: mpirun -np 2 on two GPUs (scripts/gpu-check.sh); ctest runs one rank
  # (without a GPU its tests print SKIPPED)
  if(FASTC_HAVE_NCCL)
    add_executable(test_nccl tests/cuda/nccl/test_nccl.c)
    target_link_libraries(test_nccl PRIVATE fct)
    target_include_directories(test_nccl PRIVATE src tests)
    target_compile_options(test_nccl PRIVATE ${FASTC_WARNINGS})
    target_compile_definitions(test_nccl PRIVATE FASTC_CUDA=1)
    add_test(NAME cuda_nccl COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe --bind-to none -np 1
             -x OMP_NUM_THREADS=1 $<TARGET_FILE:test_nccl>)
    set_tests_properties(cuda_nccl PROPERTIES TIMEOUT 120 WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  endif()
elseif(NOT FASTC_CUDA STREQUAL "EMU")
  message(STATUS "CUDA backend: OFF (FASTC_CUDA=${FASTC_CUDA})")
endif()

# comm_nccl.c reads the local rank through MPI (MPI_Comm_split_type) in every MPI build
if(FASTC_HAVE_MPI)
  set_property(SOURCE src/learner/comm_nccl.c APPEND PROPERTY COMPILE_DEFINITIONS FASTC_HAVE_MPI)
  set_property(SOURCE src/learner/comm_nccl.c APPEND PROPERTY INCLUDE_DIRECTORIES ${MPI_C_INCLUDE_DIRS})
endif()
