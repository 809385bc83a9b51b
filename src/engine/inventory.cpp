#include "engine/inventory.h"
