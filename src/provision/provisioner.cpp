#include "provision/provisioner.h"

// make_provisioner() is added once the provisioner implementations exist.
