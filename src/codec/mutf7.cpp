#include "codec/mutf7.h"
