#include "codec/cgp_text.h"
