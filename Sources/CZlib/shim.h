// zlib (Debian: zlib1g-dev): gunzip of the MNIST / CIFAR-10 files.
#include <zlib.h>
