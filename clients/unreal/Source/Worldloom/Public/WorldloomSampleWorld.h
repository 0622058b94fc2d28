// AWorldloomSampleWorld: the minimal sample. Drop it in an empty level, set ServerUrl, press Play: it
// connects, draws one instanced mesh per visible entity at its interpolated position every frame, logs
// spawns, despawns and events, and asks the server for `room.info` once connected.
#pragma once

#include "CoreMinimal.h"
#include "GameFramework/Actor.h"

#include "WorldloomSampleWorld.generated.h"

class UInstancedStaticMeshComponent;

UCLASS()
class WORLDLOOM_API AWorldloomSampleWorld : public AActor
{
	GENERATED_BODY()

public:
	AWorldloomSampleWorld();

	UPROPERTY(EditAnywhere, Category = "Worldloom") FString ServerUrl = TEXT("ws://127.0.0.1:8765/ws");
	UPROPERTY(EditAnywhere, Category = "Worldloom") FString PlayerName = TEXT("unreal-sample");
	/** One instance per entity (the engine's basic cube unless set). */
	UPROPERTY(VisibleAnywhere, Category = "Worldloom") UInstancedStaticMeshComponent* Entities = nullptr;

	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type Reason) override;
	virtual void Tick(float DeltaSeconds) override;

private:
	UFUNCTION() void HandleConnected(int64 AvatarEntity);
	UFUNCTION() void HandleSpawned(FName Kind, int64 EntityId, FVector Location);
	UFUNCTION() void HandleDespawned(FName Kind, int64 EntityId);
	UFUNCTION() void HandleEvent(FName Kind, int64 EntityId, int64 EventTick, const FString& DataJson);
	UFUNCTION() void HandleRoomInfo(int32 Code, const FString& Message, const FString& ResultJson);
};
