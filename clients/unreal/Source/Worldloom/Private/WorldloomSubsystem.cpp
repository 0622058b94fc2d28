// UWorldloomSubsystem: IWebSocket <-> worldloom::ClientSession (see the header).
#include "WorldloomSubsystem.h"

#include "HAL/PlatformTime.h"
#include "IWebSocket.h"
#include "Modules/ModuleManager.h"
#include "WebSocketsModule.h"

#include "Worldloom/ClientSession.h"

namespace
{
	FString ToFString(const std::string& Utf8) { return FString(UTF8_TO_TCHAR(Utf8.c_str())); }
	std::string ToStd(const FString& Text) { return std::string(TCHAR_TO_UTF8(*Text)); }
}

UWorldloomSubsystem::UWorldloomSubsystem() = default;
UWorldloomSubsystem::~UWorldloomSubsystem() = default;

void UWorldloomSubsystem::Initialize(FSubsystemCollectionBase& Collection)
{
	Super::Initialize(Collection);
	FModuleManager::Get().LoadModuleChecked<FWebSocketsModule>(TEXT("WebSockets"));
}

void UWorldloomSubsystem::Deinitialize()
{
	Disconnect();
	if (Socket.IsValid())
	{
		Socket->OnRawMessage().Clear();
		Socket->OnClosed().Clear();
		Socket->OnConnectionError().Clear();
		Socket->OnConnected().Clear();
		Socket->Close();
		Socket.Reset();
	}
	Session.reset();
	Super::Deinitialize();
}

double UWorldloomSubsystem::Now() { return FPlatformTime::Seconds(); }

void UWorldloomSubsystem::Connect(const FString& Url, const FString& PlayerName, const FString& Role, const FString& Token)
{
	worldloom::SessionConfig Config;
	Config.name = ToStd(PlayerName);
	Config.role = ToStd(Role);
	Config.token = ToStd(Token);
	Session = std::make_unique<worldloom::ClientSession>(Config);
	BindSessionCallbacks();
	ServerUrl = Url;
	OpenSocket();
}

void UWorldloomSubsystem::BindSessionCallbacks()
{
	worldloom::SessionListeners& L = Session->listeners;
	L.on_welcome = [this](const worldloom::protocol::Welcome& W) { OnConnected.Broadcast(static_cast<int64>(W.entity)); };
	L.on_spawn = [this](const std::string& Kind, uint32_t Id, double X, double Y, double Z)
	{
		OnEntitySpawned.Broadcast(FName(ToFString(Kind)), static_cast<int64>(Id), ToUnreal(X, Y, Z));
	};
	L.on_despawn = [this](const std::string& Kind, uint32_t Id) { OnEntityDespawned.Broadcast(FName(ToFString(Kind)), static_cast<int64>(Id)); };
	L.on_event = [this](const worldloom::protocol::Event& E)
	{
		worldloom::msgpack::Value Data;
		Data.type = worldloom::msgpack::Value::Type::Map;
		for (const auto& Entry : E.data)
		{
			Data.items.push_back(worldloom::msgpack::Value::String(Entry.first));
			Data.items.push_back(Entry.second);
		}
		OnWorldEvent.Broadcast(FName(ToFString(E.kind)), static_cast<int64>(E.entity), static_cast<int64>(E.tick),
			ToFString(worldloom::msgpack::to_json(Data)));
	};
	L.on_error = [this](const worldloom::protocol::Error& E) { OnServerError.Broadcast(E.code, ToFString(E.message)); };
	L.on_refused = [](const worldloom::HandshakeRefusal& R)
	{
		UE_LOG(LogTemp, Error, TEXT("Worldloom: %s"), *ToFString(R.describe()));
	};
	L.on_closed = [this](int Code, const std::string& Reason) { OnClosed.Broadcast(Code, ToFString(Reason)); };
}

void UWorldloomSubsystem::OpenSocket()
{
	if (Socket.IsValid())
	{
		Socket->OnRawMessage().Clear();
		Socket->OnClosed().Clear();
		Socket->OnConnectionError().Clear();
		Socket->OnConnected().Clear();
		Socket->Close();
	}
	Partial.Reset();
	Socket = FWebSocketsModule::Get().CreateWebSocket(ServerUrl, FString());
	TWeakObjectPtr<UWorldloomSubsystem> WeakThis(this);
	Socket->OnConnected().AddLambda([WeakThis]()
	{
		if (!WeakThis.IsValid() || !WeakThis->Session) return;
		WeakThis->Session->transport_opened(Now());
		WeakThis->Flush();
	});
	Socket->OnRawMessage().AddLambda([WeakThis](const void* Data, SIZE_T Size, SIZE_T BytesRemaining)
	{
		if (!WeakThis.IsValid() || !WeakThis->Session) return;
		UWorldloomSubsystem* Self = WeakThis.Get();
		Self->Partial.Append(static_cast<const uint8*>(Data), static_cast<int32>(Size));
		if (BytesRemaining > 0) return;  // the rest of this message follows
		Self->Session->frame_received(Self->Partial.GetData(), static_cast<size_t>(Self->Partial.Num()), Now());
		Self->Partial.Reset();
		Self->Flush();
	});
	auto OnGone = [WeakThis](int32 Code, const FString& Reason)
	{
		if (!WeakThis.IsValid() || !WeakThis->Session) return;
		UWorldloomSubsystem* Self = WeakThis.Get();
		if (Self->Session->transport_closed(Code, ToStd(Reason), Now()))
		{
			Self->ReconnectAt = Now() + Self->Session->reconnect_delay();
		}
	};
	Socket->OnConnectionError().AddLambda([OnGone](const FString& Error) { OnGone(1006, Error); });
	Socket->OnClosed().AddLambda([OnGone](int32 StatusCode, const FString& Reason, bool /*bWasClean*/) { OnGone(StatusCode, Reason); });
	Socket->Connect();
}

void UWorldloomSubsystem::Flush()
{
	if (!Session || !Socket.IsValid() || !Socket->IsConnected()) return;
	for (const worldloom::Bytes& Frame : Session->take_outgoing())
	{
		Socket->Send(Frame.data(), Frame.size(), /*bIsBinary=*/true);
	}
}

void UWorldloomSubsystem::Disconnect()
{
	if (!Session) return;
	Session->close("client closing");
	Flush();  // the server answers Bye with close 1000, which ends the session
}

int64 UWorldloomSubsystem::SendMove(FVector2D Move, int32 Buttons)
{
	if (!Session) return 0;
	// Unreal (X forward, Y right) -> Worldloom (x, y) with y mirrored, as positions are.
	const int64 Seq = static_cast<int64>(Session->send_input(Move.X, -Move.Y, static_cast<uint32_t>(Buttons)));
	Flush();
	return Seq;
}

int64 UWorldloomSubsystem::CallRpc(const FString& Method, float TimeoutSeconds, FWorldloomRpcResult OnResult)
{
	if (!Session) return 0;
	const uint64_t Id = Session->call(ToStd(Method), worldloom::msgpack::Value(), TimeoutSeconds,
		[OnResult](const worldloom::RpcResult& R)
		{
			OnResult.ExecuteIfBound(R.code, ToFString(R.message), ToFString(worldloom::msgpack::to_json(R.result)));
		}, Now());
	Flush();
	return static_cast<int64>(Id);
}

TArray<FWorldloomEntityPose> UWorldloomSubsystem::GetInterpolatedEntities() const
{
	TArray<FWorldloomEntityPose> Out;
	if (!Session) return Out;
	for (const auto& Kind : Session->interpolated(Now()))
	{
		const FName KindName(ToFString(Kind.first));
		for (const worldloom::EntityPose& Pose : Kind.second)
		{
			FWorldloomEntityPose& Item = Out.AddDefaulted_GetRef();
			Item.Kind = KindName;
			Item.EntityId = static_cast<int64>(Pose.id);
			Item.Location = ToUnreal(Pose.x, Pose.y, Pose.z);
		}
	}
	return Out;
}

bool UWorldloomSubsystem::IsOnline() const { return Session && Session->online(); }
int64 UWorldloomSubsystem::GetAvatarEntity() const { return Session ? static_cast<int64>(Session->entity()) : 0; }
int32 UWorldloomSubsystem::GetTickRate() const { return Session && Session->has_welcome() ? Session->welcome().tick_rate : 0; }

void UWorldloomSubsystem::Tick(float /*DeltaTime*/)
{
	if (!Session) return;
	const double T = Now();
	Session->update(T);
	if (ReconnectAt >= 0.0 && T >= ReconnectAt)
	{
		ReconnectAt = -1.0;
		OpenSocket();  // the session resumes with its resume token on transport_opened
	}
	Flush();
}

TStatId UWorldloomSubsystem::GetStatId() const
{
	RETURN_QUICK_DECLARE_CYCLE_STAT(UWorldloomSubsystem, STATGROUP_Tickables);
}
