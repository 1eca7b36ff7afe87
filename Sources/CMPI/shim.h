#pragma once
// Open MPI's C API for Swift. MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM … are macros over addresses of
// library globals that Swift cannot import, so the few calls MiniMindVMPI makes are wrapped here.
// The include path comes from pkg-config (`ompi-c`): Debian keeps mpi.h under
// /usr/lib/x86_64-linux-gnu/openmpi/include.
#include <mpi.h>
#include <stddef.h>

/// MPI_Init_thread asking for MPI_THREAD_FUNNELED (only the main thread calls MPI; the compute
/// pool's threads never do). Returns the MPI error code; `provided` receives the level granted.
static inline int mmpi_init(int *provided) {
  int argc = 0;
  char **argv = NULL;
  return MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, provided);
}
static inline int mmpi_initialized(void) { int flag = 0; MPI_Initialized(&flag); return flag; }
static inline int mmpi_finalized(void) { int flag = 0; MPI_Finalized(&flag); return flag; }
static inline int mmpi_finalize(void) { return MPI_Finalize(); }
static inline int mmpi_rank(void) { int r = -1; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
static inline int mmpi_size(void) { int s = 0; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }
static inline int mmpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static inline int mmpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
/// In-place sums over all ranks.
static inline int mmpi_allreduce_sum_float(float *buffer, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int mmpi_allreduce_sum_double(double *buffer, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
/// Non-blocking in-place sum (MPI_Iallreduce): `request` receives the handle for mmpi_test / mmpi_wait.
/// Open MPI (libnbc) moves it forward only inside MPI calls, so the caller polls with mmpi_test.
static inline int mmpi_iallreduce_sum_float(float *buffer, int count, MPI_Request *request) {
  return MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
}
static inline int mmpi_iallreduce_sum_double(double *buffer, int count, MPI_Request *request) {
  return MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, request);
}
/// `done` becomes 1 when the request has completed (the request is then freed).
static inline int mmpi_test(MPI_Request *request, int *done) { return MPI_Test(request, done, MPI_STATUS_IGNORE); }
static inline int mmpi_wait(MPI_Request *request) { return MPI_Wait(request, MPI_STATUS_IGNORE); }
static inline MPI_Request mmpi_request_null(void) { return MPI_REQUEST_NULL; }
/// In-place MPI_Allgatherv: rank r's `counts[r]` elements at `displacements[r]` go to every rank.
static inline int mmpi_allgatherv_float(float *buffer, const int *counts, const int *displacements) {
  return MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buffer, counts, displacements, MPI_FLOAT, MPI_COMM_WORLD);
}
static inline int mmpi_bcast_bytes(void *buffer, int count, int root) {
  return MPI_Bcast(buffer, count, MPI_BYTE, root, MPI_COMM_WORLD);
}
/// MPI_ERRORS_RETURN on MPI_COMM_WORLD: failed calls return a code (turned into a Swift error)
/// instead of aborting inside the library, so the message can name the operation.
static inline int mmpi_errors_return(void) { return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); }
static inline int mmpi_error_string(int code, char *text, int capacity) {
  int length = 0;
  if (capacity < MPI_MAX_ERROR_STRING) return -1;
  return MPI_Error_string(code, text, &length);
}
static inline int mmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int mmpi_success(void) { return MPI_SUCCESS; }
