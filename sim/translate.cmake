# translate.cmake — turns a .cu/.cuh file into C++ for cudasim (the CPU
# emulation of CUDA, docs/cuda_sim.md): the only CUDA syntax plain C++
# lacks is the launch and dynamic shared memory, so
#   kernel<T><<<grid, block, smem, stream>>>(a, b)
#     -> ::cudasim::launch("kernel<T>", ::cudasim::config(grid, block, smem, stream), kernel<T>, a, b)
#   extern __shared__ __align__(16) float smem[];
#     -> float *smem = (float *)::cudasim::dynamic_smem();
# Everything else (qualifiers, built-ins, intrinsics) is defined by the
# headers in sim/include. A #line directive keeps compiler messages on the
# original file and line (no rewrite adds a line).
#   cmake -DIN=file.cu -DOUT=file.cpp -P translate.cmake
file(READ "${IN}" src)
set(name "([A-Za-z_][A-Za-z_0-9]*(<[^<>;(){}]*>)?)")
set(ws "[ \t\r\n]*")
string(REGEX REPLACE "${name}${ws}<<<([^;]*)>>>${ws}\\(${ws}\\)"
       "::cudasim::launch(\"\\1\", ::cudasim::config(\\3), \\1)" src "${src}")
string(REGEX REPLACE "${name}${ws}<<<([^;]*)>>>${ws}\\("
       "::cudasim::launch(\"\\1\", ::cudasim::config(\\3), \\1, " src "${src}")
string(REGEX REPLACE
       "extern[ \t]+__shared__[ \t]+(__align__\\([0-9]+\\)[ \t]+)?([A-Za-z_][A-Za-z_0-9: ]*[A-Za-z_0-9])[ \t]+([A-Za-z_][A-Za-z_0-9]*)[ \t]*\\[[ \t]*\\][ \t]*;"
       "\\2 *\\3 = (\\2 *)::cudasim::dynamic_smem();" src "${src}")
if(src MATCHES "<<<|>>>[ \t\r\n]*\\(")
  message(FATAL_ERROR "cudasim: ${IN}: a kernel launch the translation did not understand is left")
endif()
if(src MATCHES "extern[ \t]+__shared__")
  message(FATAL_ERROR "cudasim: ${IN}: an extern __shared__ declaration the translation did not understand is left")
endif()
get_filename_component(ext "${IN}" EXT)
if(ext STREQUAL ".cu")
  set(head "#include <cuda_runtime.h>\n")
else()
  set(head "")
endif()
# Always written: an output left older than its input would be remade at
# every build.
file(WRITE "${OUT}" "${head}#line 1 \"${IN}\"\n${src}")
