// The engine-facing module: UWorldloomSubsystem (connection over the engine's WebSockets module),
// UWorldloomComponent (avatar input) and AWorldloomSampleWorld (renders the entities).
using UnrealBuildTool;

public class Worldloom : ModuleRules
{
	public Worldloom(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp17;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "WorldloomCore" });
		PrivateDependencyModuleNames.AddRange(new string[] { "WebSockets" });
	}
}
