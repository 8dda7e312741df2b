# ---- the CUDA backend on the CUDA emulator (FASTC_CUDA=EMU; tests/cuda_emu) ------------------------
# The same sources as the real backend, compiled by the host compilers: the .cu files as C++17
# against the emulator's headers (tests/cuda_emu/include, first on the path, in place of the
# toolkit's), linked with the emulator's runtime and its host cuBLASLt / cuDNN. The library is a
# test build: it reports one "CUDA device" whose kernels run on the CPU. Nothing here needs nvcc.
set(FCE_DIR ${PROJECT_SOURCE_DIR}/tests/cuda_emu)
file(GLOB FASTC_CUDA_SOURCES CONFIGURE_DEPENDS src/ops/cuda/*.cu src/ops/cuda/*.c src/core/cuda_*.c)
file(GLOB FCE_SOURCES CONFIGURE_DEPENDS ${FCE_DIR}/*.cpp ${FCE_DIR}/*.c)
list(FILTER FCE_SOURCES EXCLUDE REGEX "/test_[^/]*$")
foreach(f ${FASTC_CUDA_SOURCES})
  if(f MATCHES "\\.cu$")
    set_source_files_properties(${f} PROPERTIES LANGUAGE CXX COMPILE_OPTIONS "-xc++;-Wno-sign-compare")
  endif()
endforeach()
add_library(fastc_cuda_obj OBJECT ${FASTC_CUDA_SOURCES} ${FCE_SOURCES})
set_target_properties(fastc_cuda_obj PROPERTIES POSITION_INDEPENDENT_CODE ON CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
target_include_directories(fastc_cuda_obj BEFORE PRIVATE ${FCE_DIR}/include)
target_include_directories(fastc_cuda_obj PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(fastc_cuda_obj PRIVATE FASTC_CUDA=1 FASTC_CUDA_EMU=1)
target_compile_options(fastc_cuda_obj PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
  $<$<COMPILE_LANGUAGE:C>:-Werror=implicit-function-declaration -Werror=int-conversion -Werror=incompatible-pointer-types>
  ${OpenMP_C_FLAGS})
target_compile_definitions(fastc_obj PRIVATE FASTC_CUDA=1 FASTC_CUDA_EMU=1)
target_include_directories(fastc_obj BEFORE PRIVATE ${FCE_DIR}/include)
foreach(t fastc_shared fastc_static)
  target_sources(${t} PRIVATE $<TARGET_OBJECTS:fastc_cuda_obj>)
  target_link_libraries(${t} PUBLIC stdc++)
endforeach()
message(STATUS "CUDA backend: EMU (the CUDA emulator in tests/cuda_emu: device tests run on the CPU)")

file(GLOB cuda_tests CONFIGURE_DEPENDS tests/cuda/*.c)
add_executable(test_cuda ${cuda_tests})
target_link_libraries(test_cuda PRIVATE fct)
target_include_directories(test_cuda PRIVATE src tests)
target_include_directories(test_cuda BEFORE PRIVATE ${FCE_DIR}/include)
target_compile_options(test_cuda PRIVATE ${FASTC_WARNINGS})
target_compile_definitions(test_cuda PRIVATE FASTC_CUDA=1 FASTC_CUDA_EMU=1)
enable_testing()
# The two MNIST_SAMPLE epochs (test_cuda_train.c) take about 15 minutes each on the emulator: they
# are left out here (FCT_CUDA_NO_TRAIN) and run by `make check-emu-train`; the small-network and
# batch-norm training tests still run.
# Every kernel of src/ops/cuda must be launched by the suite (FCE_KERNELS: the emulator fails the
# run naming any that never ran).
set(FCE_KERNEL_LIST ${CMAKE_BINARY_DIR}/fce_kernels.txt)
set(fce_names "")
foreach(f ${FASTC_CUDA_SOURCES})
  if(f MATCHES "\\.cu$")
    file(STRINGS ${f} lines REGEX "__global__ void [A-Za-z_0-9]+")
    foreach(l ${lines})
      string(REGEX REPLACE ".*__global__ void ([A-Za-z_0-9]+).*" "\\1" k "${l}")
      string(APPEND fce_names "${k}\n")
    endforeach()
  endif()
endforeach()
file(WRITE ${FCE_KERNEL_LIST} "${fce_names}")
add_test(NAME cuda_emu COMMAND test_cuda)
set_tests_properties(cuda_emu PROPERTIES ENVIRONMENT "FASTC_FIXTURES=${PROJECT_SOURCE_DIR}/tests/fixtures;OMP_NUM_THREADS=2;FCT_CUDA_NO_TRAIN=1;FCE_QUIET=1;FCE_KERNELS=${FCE_KERNEL_LIST}"
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})

# the emulator's own checks (indices, barriers, warp exchanges, refused launches, races found)
add_executable(test_emu_scheduler ${FCE_DIR}/test_emu_scheduler.cpp)
target_include_directories(test_emu_scheduler BEFORE PRIVATE ${FCE_DIR}/include)
target_include_directories(test_emu_scheduler PRIVATE src)
target_compile_definitions(test_emu_scheduler PRIVATE FASTC_CUDA_EMU=1)
target_compile_options(test_emu_scheduler PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)
set_target_properties(test_emu_scheduler PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
target_link_libraries(test_emu_scheduler PRIVATE fastc_static)
add_test(NAME cuda_emu_scheduler COMMAND test_emu_scheduler)

# the emulated cuBLASLt / cuDNN against fastc's CPU matmul and conv2d, and their validation
add_executable(test_emu_libs ${FCE_DIR}/test_emu_libs.c)
target_include_directories(test_emu_libs BEFORE PRIVATE ${FCE_DIR}/include)
target_include_directories(test_emu_libs PRIVATE src tests)
target_compile_options(test_emu_libs PRIVATE ${FASTC_WARNINGS})
target_link_libraries(test_emu_libs PRIVATE fct)
add_test(NAME cuda_emu_libs COMMAND test_emu_libs)
set_tests_properties(cuda_emu_libs PROPERTIES ENVIRONMENT "FASTC_FIXTURES=${PROJECT_SOURCE_DIR}/tests/fixtures;FCE_QUIET=1"
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
