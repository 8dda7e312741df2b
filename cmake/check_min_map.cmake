# ctest predict_min_map: the inference-only programs (examples/predict_min.c) link no training
# code. Reads the link maps the build writes in MAP_DIR and fails on any archive member of
# the optimizers, the training loop and callbacks or the distributed backend. A map that does not
# show the loader (export.c) is not a map of that program: that fails too.
set(forbidden optimizer.c.o opt_funcs.c.o update.c.o state_io.c.o schedule.c.o optim.cu.o
    learner_train.c.o fit.c.o lr_find.c.o groups.c.o checkpoint.c.o
    train_eval.c.o recorder.c.o progress.c.o
    distributed.c.o distributed_sync_bn.c.o comm_mpi.c.o comm_nccl.c.o)
set(failed 0)
set(maps ${MAP_DIR}/fastc_predict_min.map)
foreach(app vision tabular collab text)
  list(APPEND maps ${MAP_DIR}/fastc_predict_min_${app}.map)
endforeach()
foreach(map ${maps})
  if(NOT EXISTS "${map}")
    message(SEND_ERROR "${map}: no such map (build the fastc_predict_min targets)")
    set(failed 1)
    continue()
  endif()
  file(READ "${map}" text)
  if(NOT text MATCHES "libfastc\\.a\\(export\\.c\\.o\\)")
    message(SEND_ERROR "${map}: expected libfastc.a(export.c.o) among the archive members, found none")
    set(failed 1)
  endif()
  foreach(member ${forbidden})
    string(REPLACE "." "\\." re "${member}")
    if(text MATCHES "libfastc\\.a\\(${re}\\)")
      message(SEND_ERROR "${map}: the inference-only program links training code: ${member}")
      set(failed 1)
    endif()
  endforeach()
endforeach()
if(failed)
  message(FATAL_ERROR "predict_min_map: failed")
endif()
