// UWorldloomSubsystem: one Worldloom connection per game instance, over the engine's WebSockets module.
//
// The subsystem is only a transport adapter around worldloom::ClientSession (the portable sans-I/O core):
// it opens an IWebSocket, hands every binary message to the session, writes the frames the session
// produces as binary messages, reconnects (resuming the session) when the session asks for it, and turns
// the session's callbacks into dynamic multicast delegates for Blueprints and C++. All of it runs on the
// game thread: IWebSocket callbacks are delivered there, and Tick() drives RPC timeouts and reconnects.
//
// Units: Unreal centimetres. Worldloom positions are metres with z up in a right-handed frame
// (x east, y north); they map to Unreal as X = x * 100, Y = -y * 100, Z = z * 100 (Unreal is
// left-handed), and movement input the other way round (see UWorldloomComponent).
#pragma once

#include "CoreMinimal.h"
#include "Subsystems/GameInstanceSubsystem.h"
#include "Tickable.h"

#include <memory>

#include "WorldloomSubsystem.generated.h"

class IWebSocket;
namespace worldloom { class ClientSession; }

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FWorldloomConnected, int64, AvatarEntity);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(FWorldloomEntitySpawned, FName, Kind, int64, EntityId, FVector, Location);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FWorldloomEntityDespawned, FName, Kind, int64, EntityId);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_FourParams(FWorldloomEvent, FName, Kind, int64, EntityId, int64, EventTick, const FString&, DataJson);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FWorldloomServerError, int32, Code, const FString&, Message);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FWorldloomClosed, int32, CloseCode, const FString&, Reason);
DECLARE_DYNAMIC_DELEGATE_ThreeParams(FWorldloomRpcResult, int32, Code, const FString&, Message, const FString&, ResultJson);

/** One entity drawn at the current render time (interpolated), in Unreal units. */
USTRUCT(BlueprintType)
struct WORLDLOOM_API FWorldloomEntityPose
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Worldloom") FName Kind;
	UPROPERTY(BlueprintReadOnly, Category = "Worldloom") int64 EntityId = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Worldloom") FVector Location = FVector::ZeroVector;
};

UCLASS()
class WORLDLOOM_API UWorldloomSubsystem : public UGameInstanceSubsystem, public FTickableGameObject
{
	GENERATED_BODY()

public:
	UWorldloomSubsystem();
	virtual ~UWorldloomSubsystem() override;

	virtual void Initialize(FSubsystemCollectionBase& Collection) override;
	virtual void Deinitialize() override;

	/** Connect to ws://HOST:PORT/ws as `Role` (player, spectator, admin, service) with an optional token. */
	UFUNCTION(BlueprintCallable, Category = "Worldloom")
	void Connect(const FString& Url, const FString& PlayerName, const FString& Role = TEXT("player"), const FString& Token = TEXT(""));

	/** Say Bye and close; the server removes the avatar at once (no resume). */
	UFUNCTION(BlueprintCallable, Category = "Worldloom")
	void Disconnect();

	/** Send one movement input (each axis -1..1, Unreal axes: X forward, Y right). Returns its sequence number. */
	UFUNCTION(BlueprintCallable, Category = "Worldloom")
	int64 SendMove(FVector2D Move, int32 Buttons = 0);

	/** Call an RPC method (e.g. "room.info") without parameters; OnResult runs once (result, error or timeout). */
	UFUNCTION(BlueprintCallable, Category = "Worldloom")
	int64 CallRpc(const FString& Method, float TimeoutSeconds, FWorldloomRpcResult OnResult);

	/** Every visible entity at the render time (about three send intervals behind the server). */
	UFUNCTION(BlueprintCallable, Category = "Worldloom")
	TArray<FWorldloomEntityPose> GetInterpolatedEntities() const;

	UFUNCTION(BlueprintPure, Category = "Worldloom") bool IsOnline() const;
	UFUNCTION(BlueprintPure, Category = "Worldloom") int64 GetAvatarEntity() const;
	UFUNCTION(BlueprintPure, Category = "Worldloom") int32 GetTickRate() const;

	/** The core session, for C++ callers that need RPC parameters or raw views. */
	worldloom::ClientSession* GetSession() const { return Session.get(); }

	UPROPERTY(BlueprintAssignable, Category = "Worldloom") FWorldloomConnected OnConnected;
	UPROPERTY(BlueprintAssignable, Category = "Worldloom") FWorldloomEntitySpawned OnEntitySpawned;
	UPROPERTY(BlueprintAssignable, Category = "Worldloom") FWorldloomEntityDespawned OnEntityDespawned;
	UPROPERTY(BlueprintAssignable, Category = "Worldloom") FWorldloomEvent OnWorldEvent;
	UPROPERTY(BlueprintAssignable, Category = "Worldloom") FWorldloomServerError OnServerError;
	/** The connection ended for good (after Disconnect, a refusal such as a version mismatch, or giving up). */
	UPROPERTY(BlueprintAssignable, Category = "Worldloom") FWorldloomClosed OnClosed;

	// FTickableGameObject
	virtual void Tick(float DeltaTime) override;
	virtual TStatId GetStatId() const override;
	virtual bool IsTickable() const override { return Session != nullptr; }
	virtual ETickableTickType GetTickableTickType() const override { return ETickableTickType::Conditional; }

	/** Worldloom metres (z up, right-handed) to Unreal centimetres. */
	static FVector ToUnreal(double X, double Y, double Z) { return FVector(X * 100.0, -Y * 100.0, Z * 100.0); }

private:
	void OpenSocket();
	void Flush();
	void BindSessionCallbacks();
	static double Now();

	std::unique_ptr<worldloom::ClientSession> Session;
	TSharedPtr<IWebSocket> Socket;
	FString ServerUrl;
	double ReconnectAt = -1.0;
	/** Bytes of a binary message that arrives in fragments. */
	TArray<uint8> Partial;
};
