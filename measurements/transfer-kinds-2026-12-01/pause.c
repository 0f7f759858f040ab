#include <stdio.h>
#include <time.h>
#include <x86intrin.h>
static double mono(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
int main(){for(int r=0;r<5;r++){double a=mono();for(int i=0;i<1000000;i++)_mm_pause();double b=mono();printf("pause %.1f ns\n",(b-a)/1e6);}}
