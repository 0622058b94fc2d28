#include "WorldloomComponent.h"

#include "Engine/GameInstance.h"
#include "GameFramework/Actor.h"
#include "HAL/PlatformTime.h"
#include "WorldloomSubsystem.h"

UWorldloomComponent::UWorldloomComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
}

void UWorldloomComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	UGameInstance* GameInstance = GetWorld() ? GetWorld()->GetGameInstance() : nullptr;
	UWorldloomSubsystem* Worldloom = GameInstance ? GameInstance->GetSubsystem<UWorldloomSubsystem>() : nullptr;
	if (Worldloom == nullptr || !Worldloom->IsOnline()) return;

	const double Now = FPlatformTime::Seconds();
	const int32 TickRate = FMath::Max(1, Worldloom->GetTickRate());
	if (Now >= NextSend)  // one input per server tick: well inside the server's rate limit
	{
		NextSend = Now + 1.0 / TickRate;
		Worldloom->SendMove(Move2D);
	}
	if (bFollowAvatar && GetOwner() != nullptr)
	{
		const int64 Avatar = Worldloom->GetAvatarEntity();
		for (const FWorldloomEntityPose& Pose : Worldloom->GetInterpolatedEntities())
		{
			if (Pose.EntityId == Avatar)
			{
				GetOwner()->SetActorLocation(Pose.Location);
				break;
			}
		}
	}
}
