// How Open MPI's in-place MPI_Allgatherv costs with the buffer cut into pieces (one collective per
// tensor) against one collective, next to an allreduce of the same buffer (Docs/Distributed.md,
// "Sharded optimizer step"). Each rank owns 1/N of every piece.
//   mpicc -O2 Scripts/bench_mpi_allgather.c -o /tmp/bench_mpi_allgather
//   mpirun --bind-to none -np 2 /tmp/bench_mpi_allgather 26214400 80   # floats, pieces
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 3 || size > 64) {
    if (rank == 0) fprintf(stderr, "usage: %s FLOATS PIECES (at most 64 ranks)\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  int n = atoi(argv[1]), pieces = atoi(argv[2]);
  if (n <= 0 || pieces <= 0 || pieces > n) {
    if (rank == 0) fprintf(stderr, "FLOATS and PIECES must be positive, PIECES <= FLOATS\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  float *buffer = calloc((size_t)n, sizeof(float));
  int per = n / pieces, counts[64], displacements[64];
  for (int r = 0; r < size; r++) {
    counts[r] = per / size + (r == size - 1 ? per % size : 0);
    displacements[r] = r * (per / size);
  }
  for (int repetition = 0; repetition < 4; repetition++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int p = 0; p < pieces; p++)
      MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buffer + (size_t)p * per, counts, displacements, MPI_FLOAT, MPI_COMM_WORLD);
    double t1 = MPI_Wtime();
    MPI_Barrier(MPI_COMM_WORLD);
    double t2 = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, buffer, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double t3 = MPI_Wtime();
    if (rank == 0) printf("allgatherv of %d floats in %d pieces: %.3f s; allreduce: %.3f s\n", n, pieces, t1 - t0, t3 - t2);
  }
  free(buffer);
  MPI_Finalize();
  return 0;
}
