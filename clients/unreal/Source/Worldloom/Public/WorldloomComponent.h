// UWorldloomComponent: put it on the pawn that stands for the player's avatar. It sends the owner's
// movement input to the server once per server tick (Welcome.tick_rate) and moves the owner to the
// avatar's interpolated position, so the server stays authoritative.
#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"

#include "WorldloomComponent.generated.h"

UCLASS(ClassGroup = (Worldloom), meta = (BlueprintSpawnableComponent))
class WORLDLOOM_API UWorldloomComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UWorldloomComponent();

	/** Desired movement (each axis -1..1, Unreal axes X forward, Y right); sent every server tick. */
	UFUNCTION(BlueprintCallable, Category = "Worldloom")
	void SetMoveInput(FVector2D Move) { Move2D = Move; }

	/** Move the owning actor to the avatar's interpolated position each frame. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Worldloom")
	bool bFollowAvatar = true;

	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

private:
	FVector2D Move2D = FVector2D::ZeroVector;
	double NextSend = 0.0;
};
