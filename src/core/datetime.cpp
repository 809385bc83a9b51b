#include "core/datetime.h"
