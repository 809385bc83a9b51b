#include "source/cgp/mailbox_files.h"
