// The portable C++17 core (codec, generated messages, session, snapshot and interpolation buffers).
// It has no engine dependency: the same sources are compiled with g++ in CI (tests/test_sdk_unreal.py).
using UnrealBuildTool;

public class WorldloomCore : ModuleRules
{
	public WorldloomCore(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.NoPCHs;
		CppStandard = CppStandardVersion.Cpp17;
		bEnableExceptions = false;  // the core never throws
		bUseRTTI = false;
		PublicIncludePaths.Add(System.IO.Path.Combine(ModuleDirectory, "Public"));
		PublicDependencyModuleNames.Add("Core");  // only for IMPLEMENT_MODULE in WorldloomCoreModule.cpp
	}
}
