#include "WorldloomSampleWorld.h"

#include "Components/InstancedStaticMeshComponent.h"
#include "Engine/GameInstance.h"
#include "Engine/StaticMesh.h"
#include "UObject/ConstructorHelpers.h"
#include "WorldloomSubsystem.h"

namespace
{
	UWorldloomSubsystem* GetWorldloom(const AActor* Actor)
	{
		UGameInstance* GameInstance = Actor->GetWorld() ? Actor->GetWorld()->GetGameInstance() : nullptr;
		return GameInstance ? GameInstance->GetSubsystem<UWorldloomSubsystem>() : nullptr;
	}
}

AWorldloomSampleWorld::AWorldloomSampleWorld()
{
	PrimaryActorTick.bCanEverTick = true;
	Entities = CreateDefaultSubobject<UInstancedStaticMeshComponent>(TEXT("Entities"));
	RootComponent = Entities;
	static ConstructorHelpers::FObjectFinder<UStaticMesh> Cube(TEXT("/Engine/BasicShapes/Cube.Cube"));
	if (Cube.Succeeded())
	{
		Entities->SetStaticMesh(Cube.Object);
	}
}

void AWorldloomSampleWorld::BeginPlay()
{
	Super::BeginPlay();
	if (UWorldloomSubsystem* Worldloom = GetWorldloom(this))
	{
		Worldloom->OnConnected.AddDynamic(this, &AWorldloomSampleWorld::HandleConnected);
		Worldloom->OnEntitySpawned.AddDynamic(this, &AWorldloomSampleWorld::HandleSpawned);
		Worldloom->OnEntityDespawned.AddDynamic(this, &AWorldloomSampleWorld::HandleDespawned);
		Worldloom->OnWorldEvent.AddDynamic(this, &AWorldloomSampleWorld::HandleEvent);
		Worldloom->Connect(ServerUrl, PlayerName);
	}
}

void AWorldloomSampleWorld::EndPlay(const EEndPlayReason::Type Reason)
{
	if (UWorldloomSubsystem* Worldloom = GetWorldloom(this))
	{
		Worldloom->Disconnect();
		Worldloom->OnConnected.RemoveAll(this);
		Worldloom->OnEntitySpawned.RemoveAll(this);
		Worldloom->OnEntityDespawned.RemoveAll(this);
		Worldloom->OnWorldEvent.RemoveAll(this);
	}
	Super::EndPlay(Reason);
}

void AWorldloomSampleWorld::Tick(float DeltaSeconds)
{
	Super::Tick(DeltaSeconds);
	UWorldloomSubsystem* Worldloom = GetWorldloom(this);
	if (Worldloom == nullptr) return;
	const TArray<FWorldloomEntityPose> Poses = Worldloom->GetInterpolatedEntities();
	// Keep exactly one instance per entity, then place them all (world space; 50 cm cubes).
	while (Entities->GetInstanceCount() > Poses.Num())
	{
		Entities->RemoveInstance(Entities->GetInstanceCount() - 1);
	}
	while (Entities->GetInstanceCount() < Poses.Num())
	{
		Entities->AddInstance(FTransform::Identity, /*bWorldSpace=*/true);
	}
	for (int32 Index = 0; Index < Poses.Num(); ++Index)
	{
		const FTransform Where(FQuat::Identity, Poses[Index].Location, FVector(0.5));
		Entities->UpdateInstanceTransform(Index, Where, /*bWorldSpace=*/true, /*bMarkRenderStateDirty=*/false, /*bTeleport=*/true);
	}
	Entities->MarkRenderStateDirty();
}

void AWorldloomSampleWorld::HandleConnected(int64 AvatarEntity)
{
	UE_LOG(LogTemp, Log, TEXT("Worldloom: connected, avatar %lld"), AvatarEntity);
	if (UWorldloomSubsystem* Worldloom = GetWorldloom(this))
	{
		FWorldloomRpcResult OnResult;
		OnResult.BindDynamic(this, &AWorldloomSampleWorld::HandleRoomInfo);
		Worldloom->CallRpc(TEXT("room.info"), 5.0f, OnResult);
	}
}

void AWorldloomSampleWorld::HandleSpawned(FName Kind, int64 EntityId, FVector Location)
{
	UE_LOG(LogTemp, Verbose, TEXT("Worldloom: %s %lld appeared at %s"), *Kind.ToString(), EntityId, *Location.ToString());
}

void AWorldloomSampleWorld::HandleDespawned(FName Kind, int64 EntityId)
{
	UE_LOG(LogTemp, Verbose, TEXT("Worldloom: %s %lld is gone"), *Kind.ToString(), EntityId);
}

void AWorldloomSampleWorld::HandleEvent(FName Kind, int64 EntityId, int64 EventTick, const FString& DataJson)
{
	UE_LOG(LogTemp, Log, TEXT("Worldloom: event %s entity %lld at tick %lld %s"), *Kind.ToString(), EntityId, EventTick, *DataJson);
}

void AWorldloomSampleWorld::HandleRoomInfo(int32 Code, const FString& Message, const FString& ResultJson)
{
	UE_LOG(LogTemp, Log, TEXT("Worldloom: room.info -> code %d %s %s"), Code, *Message, *ResultJson);
}
