%% Remote ping-pong benchmark, Erlang side (see README.md in this folder).
%%
%% Protocol, shared with the C++ peer (coproc_dist_pingpong):
%%   server: a process registered as `pong`; on {ping, From, N} it replies
%%           From ! {pong, N}; on `stop` it returns.
%%   client: every ping is a registered-name send to {pong, ServerNode}.
%%     rt   - one ping in flight; reports round trips per second.
%%     pipe - ?WINDOW pings in flight (one more sent per pong received);
%%            reports pongs received per second.
%%     bin  - one ?BIN_BYTES binary in flight: {echo, From, Bin} answered with
%%            From ! {echo, Bin}; reports MiB echoed per second (round trips/s x 10).
%% The client prints exactly one line `RESULT mode=<rt|pipe|bin> per_s=<integer>`
%% on stdout (plus `#`-prefixed detail lines).
-module(pong).
-export([server/0, client/3, client_main/3]).

-define(WINDOW, 1000).
-define(BIN_BYTES, 10 * 1024 * 1024).
-define(REPLY_TIMEOUT_MS, 10000).
-define(CONNECT_TIMEOUT_MS, 10000).

%% ------------------------------------------------------------------ server

%% Registers the calling process as `pong`, prints READY and serves until it
%% receives `stop`.
server() ->
    true = register(pong, self()),
    io:format("READY~n"),
    server_loop().

server_loop() ->
    receive
        {ping, From, N} ->
            From ! {pong, N},
            server_loop();
        {echo, From, Bin} ->
            From ! {echo, Bin},
            server_loop();
        stop ->
            ok;
        _Other ->
            server_loop()
    end.

%% ------------------------------------------------------------------ client

%% client(ServerNode, Mode, Seconds) -> PerS (integer).
%% ServerNode: atom (or string); Mode: rt | pipe | bin (atom or string);
%% Seconds: positive number. Raises on connection failure or lost replies.
client(ServerNode0, Mode0, Seconds) when is_number(Seconds), Seconds > 0 ->
    ServerNode = to_atom(ServerNode0),
    Mode = to_atom(Mode0),
    lists:member(Mode, [rt, pipe, bin]) orelse erlang:error({bad_mode, Mode0}),
    Target = {pong, ServerNode},
    connect(ServerNode),
    true = erlang:monitor_node(ServerNode, true),
    warm_up(Target),
    Native = erlang:convert_time_unit(round(Seconds * 1000), millisecond, native),
    Start = erlang:monotonic_time(),
    Deadline = Start + Native,
    {Count, Outstanding} =
        case Mode of
            rt -> {rt_loop(Target, self(), Deadline, 0), 0};
            pipe -> pipe_start(Target, Deadline);
            bin -> {bin_loop(Target, self(), bin_payload(), Deadline, 0), 0}
        end,
    Elapsed = erlang:monotonic_time() - Start,
    ElapsedS = erlang:convert_time_unit(Elapsed, native, microsecond) / 1.0e6,
    drain(Outstanding),
    PerS = case Mode of
               bin -> round(Count * (?BIN_BYTES div (1024 * 1024)) / ElapsedS);
               _ -> round(Count / ElapsedS)
           end,
    io:format("# mode=~s count=~b elapsed_s=~.3f both_ways_per_s=~b~n",
              [Mode, Count, ElapsedS, 2 * PerS]),
    io:format("RESULT mode=~s per_s=~b~n", [Mode, PerS]),
    PerS.

%% For `erl -eval`: runs client/3, then halts with status 0, or prints the
%% error on stderr and halts with status 1.
client_main(ServerNode, Mode, Seconds) ->
    try client(ServerNode, Mode, Seconds) of
        _ -> erlang:halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "pong client failed: ~p:~p~n~p~n",
                      [Class, Reason, Stack]),
            erlang:halt(1)
    end.

%% Connects to ServerNode, retrying until ?CONNECT_TIMEOUT_MS has passed.
connect(Node) ->
    Until = erlang:monotonic_time(millisecond) + ?CONNECT_TIMEOUT_MS,
    connect(Node, Until).

connect(Node, Until) ->
    case net_kernel:connect_node(Node) of
        true ->
            ok;
        _ ->
            case erlang:monotonic_time(millisecond) < Until of
                true -> timer:sleep(100), connect(Node, Until);
                false -> erlang:error({cannot_connect, Node})
            end
    end.

%% One round trip before timing, so the connection (and the server's name)
%% is known to work.
warm_up(Target) ->
    Target ! {ping, self(), 0},
    receive
        {pong, 0} -> ok;
        {nodedown, Node} -> erlang:error({nodedown, Node})
    after ?REPLY_TIMEOUT_MS ->
        erlang:error({no_pong_from, Target})
    end.

rt_loop(Target, Self, Deadline, Count) ->
    N = Count + 1,
    Target ! {ping, Self, N},
    receive
        {pong, N} -> ok;
        {nodedown, Node} -> erlang:error({nodedown, Node})
    after ?REPLY_TIMEOUT_MS ->
        erlang:error({no_pong_for, N})
    end,
    case erlang:monotonic_time() < Deadline of
        true -> rt_loop(Target, Self, Deadline, N);
        false -> N
    end.

%% ?BIN_BYTES of a repeating 16-byte pattern (not all zeros, not compressible by us).
bin_payload() ->
    binary:copy(<<"0123456789abcdef">>, ?BIN_BYTES div 16).

bin_loop(Target, Self, Bin, Deadline, Count) ->
    Target ! {echo, Self, Bin},
    Size = byte_size(Bin),
    receive
        {echo, B} when byte_size(B) =:= Size -> ok;
        {echo, B} -> erlang:error({short_echo, byte_size(B)});
        {nodedown, Node} -> erlang:error({nodedown, Node})
    after ?REPLY_TIMEOUT_MS ->
        erlang:error({no_echo_for, Count + 1})
    end,
    case erlang:monotonic_time() < Deadline of
        true -> bin_loop(Target, Self, Bin, Deadline, Count + 1);
        false -> Count + 1
    end.

%% Returns {PongsReceived, PingsStillInFlight}.
pipe_start(Target, Deadline) ->
    Self = self(),
    send_n(Target, Self, 1, ?WINDOW),
    pipe_loop(Target, Self, Deadline, ?WINDOW + 1, 0).

send_n(_Target, _Self, I, Last) when I > Last ->
    ok;
send_n(Target, Self, I, Last) ->
    Target ! {ping, Self, I},
    send_n(Target, Self, I + 1, Last).

pipe_loop(Target, Self, Deadline, Next, Got) ->
    receive
        {pong, _} -> ok;
        {nodedown, Node} -> erlang:error({nodedown, Node})
    after ?REPLY_TIMEOUT_MS ->
        erlang:error({pipe_stalled, Got})
    end,
    Got1 = Got + 1,
    case erlang:monotonic_time() < Deadline of
        true ->
            Target ! {ping, Self, Next},
            pipe_loop(Target, Self, Deadline, Next + 1, Got1);
        false ->
            {Got1, (Next - 1) - Got1}
    end.

%% Collects the pongs still in flight so the server is idle for the next run.
drain(0) ->
    ok;
drain(K) ->
    receive
        {pong, _} -> drain(K - 1);
        {nodedown, Node} -> erlang:error({nodedown, Node})
    after ?REPLY_TIMEOUT_MS ->
        erlang:error({drain_stalled, K})
    end.

to_atom(A) when is_atom(A) -> A;
to_atom(L) when is_list(L) -> list_to_atom(L);
to_atom(B) when is_binary(B) -> binary_to_atom(B, utf8).
