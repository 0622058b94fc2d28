// Unreal module glue for the portable core. The only engine-dependent file of WorldloomCore; the
// g++ build in CI leaves it out.
#include "Modules/ModuleManager.h"

IMPLEMENT_MODULE(FDefaultModuleImpl, WorldloomCore)
