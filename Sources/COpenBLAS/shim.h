#pragma once
#include <cblas.h>

/* LAPACK routines exported by libopenblas (Fortran calling convention, column-major). Debian's OpenBLAS ships no
   LAPACK header, so the two prototypes we use are declared here. */
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w, float *work,
             const int *lwork, int *iwork, const int *liwork, int *info);
void sgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, float *a, const int *lda, float *s,
             float *u, const int *ldu, float *vt, const int *ldvt, float *work, const int *lwork, int *info);
