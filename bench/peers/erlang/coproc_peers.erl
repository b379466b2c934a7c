%% Peer benchmarks for coproc, Erlang/OTP side. See bench/WORKLOADS.md.
%% Build: erlc -o build coproc_peers.erl
%% Run:   erl +P 2000000 -noshell -pa build -run coproc_peers main <workload>
-module(coproc_peers).
-export([main/1]).

%% timers_steady: lateness histogram of 1 us buckets up to 1 s.
-define(HIST_US, 1000000).

main([W]) ->
    Code = try run(list_to_atom(W)) of
               ok -> 0
           catch C:E:St ->
               io:format(standard_error, "~s failed: ~p:~p~n~p~n", [W, C, E, St]),
               1
           end,
    erlang:halt(Code);
main(_) ->
    io:format(standard_error, "usage: coproc_peers <workload>~n", []),
    erlang:halt(2).

now_ns() -> erlang:monotonic_time(nanosecond).
ms(Ns) -> Ns / 1.0e6.

result(W, Metric, Value, Unit) ->
    io:format("RESULT system=erlang workload=~s metric=~s value=~s unit=~s~n",
              [W, Metric, fmt(Value), Unit]).

fmt(V) when is_integer(V) -> integer_to_list(V);
fmt(V) -> float_to_list(V, [{decimals, 3}, compact]).

check(true, _) -> ok;
check(false, What) -> error({check_failed, What}).

%% --------------------------------------------------------------- ring
-define(RING_N, 10000).
-define(RING_M, 1000000).

run(ring) ->
    Main = self(),
    T0 = now_ns(),
    %% Spawn backwards so every node knows its successor at spawn time;
    %% the first node learns its successor (node 2) by message.
    First = spawn(fun() -> receive {next, Next} -> ring_node(0, Next, Main) end end),
    Second = lists:foldl(fun(I, Next) -> spawn(fun() -> ring_node(I, Next, Main) end) end,
                         First, lists:seq(?RING_N - 1, 1, -1)),
    First ! {next, Second},
    T1 = now_ns(),
    First ! {token, ?RING_M},
    receive {done, Last} -> ok end,
    T2 = now_ns(),
    %% Node I gets the token after I hops, so hop M ends on node M rem N.
    check(Last =:= ?RING_M rem ?RING_N, {last_node, Last}),
    result(ring, spawn_ms, ms(T1 - T0), ms),
    result(ring, hops_per_s, ?RING_M / ((T2 - T1) / 1.0e9), 'hops/s');

%% ----------------------------------------------------------- pingpong
run(pingpong) ->
    N = 1000000,
    Main = self(),
    Pong = spawn(fun pong/0),
    Ping = spawn(fun() -> receive go -> ping(Pong, N), Main ! done end end),
    T0 = now_ns(),
    Ping ! go,
    receive done -> ok end,
    T1 = now_ns(),
    exit(Pong, kill),
    result(pingpong, ns_per_roundtrip, (T1 - T0) / N, ns);

%% ------------------------------------------------------------- skynet
run(skynet) ->
    Main = self(),
    T0 = now_ns(),
    spawn(fun() -> skynet(Main, 0, 1000000) end),
    Sum = receive {sum, S} -> S end,
    T1 = now_ns(),
    check(Sum =:= 499999500000, {skynet_sum, Sum}),
    result(skynet, wall_ms, ms(T1 - T0), ms);

%% --------------------------------------------------------- spawn_idle
run(spawn_idle) ->
    N = 1000000,
    %% Main collects a million 'ready' messages while it is still spawning.
    process_flag(message_queue_data, off_heap),
    erlang:garbage_collect(),
    Rss0 = vm_rss(),
    T0 = now_ns(),
    Pids = spawn_idle(N, []),
    wait_n(ready, N),
    T1 = now_ns(),
    Rss1 = vm_rss(),
    %% Pids list itself is ~16 bytes/process of main's heap; counted in RSS
    %% like the handle vector in the other systems.
    [P ! stop || P <- Pids],
    result(spawn_idle, spawn_ms, ms(T1 - T0), ms),
    result(spawn_idle, rss_bytes_per_process, (Rss1 - Rss0) / N, bytes);

%% -------------------------------------------------------------- fanin
run(fanin) ->
    Senders = 1000, PerSender = 10000, Total = Senders * PerSender,
    Main = self(),
    Recv = spawn(fun() ->
                     %% A mailbox that may hold millions of messages: keep it
                     %% off the process heap so GC does not copy it around.
                     process_flag(message_queue_data, off_heap),
                     count(Total), Main ! counted
                 end),
    Pids = [spawn(fun() -> receive go -> send_n(Recv, PerSender) end end)
            || _ <- lists:seq(1, Senders)],
    T0 = now_ns(),
    [P ! go || P <- Pids],
    receive counted -> ok end,
    T1 = now_ns(),
    result(fanin, msgs_per_s, Total / ((T1 - T0) / 1.0e9), 'msgs/s');

%% ------------------------------------------------------------- timers
run(timers) ->
    N = 100000,
    Main = self(),
    T0 = now_ns(),
    [spawn(fun() -> timer_proc(Main) end) || _ <- lists:seq(1, N)],
    Lates = collect_late(N, []),
    T1 = now_ns(),
    Sorted = lists:sort(Lates),
    result(timers, wall_ms, ms(T1 - T0), ms),
    result(timers, late_p50_us, pct(Sorted, N, 50), us),
    result(timers, late_p99_us, pct(Sorted, N, 99), us);

%% ------------------------------------------------------ timers_steady
%% Lateness histogram: 1 us buckets up to 1 s (the last: 1 s or more), in a
%% counters array (write_concurrency: per-scheduler cells, no contention).
run(timers_steady) ->
    N = 100000,
    Main = self(),
    Hist = counters:new(?HIST_US + 1, [write_concurrency]),
    T0 = now_ns(),
    End = erlang:monotonic_time(microsecond) + 3000000,
    [spawn(fun() -> steady_proc(Main, End, Hist) end) || _ <- lists:seq(1, N)],
    [receive done -> ok end || _ <- lists:seq(1, N)],
    T1 = now_ns(),
    Counts = [counters:get(Hist, I) || I <- lists:seq(1, ?HIST_US + 1)],
    Total = lists:sum(Counts),
    result(timers_steady, late_p50_us, hist_rank(Counts, Total, 500), us),
    result(timers_steady, late_p99_us, hist_rank(Counts, Total, 990), us),
    result(timers_steady, late_p999_us, hist_rank(Counts, Total, 999), us),
    result(timers_steady, expiries_per_s, Total / ((T1 - T0) / 1.0e9), 'expiries/s');

%% ---------------------------------------------------------- selective
run(selective) ->
    Junk = 1000, N = 100000,
    Main = self(),
    Recv = spawn(fun() ->
                     selective_recv(0, N),
                     {message_queue_len, Left} = process_info(self(), message_queue_len),
                     Main ! {done, Left}
                 end),
    [Recv ! {junk, I} || I <- lists:seq(1, Junk)],
    T0 = now_ns(),
    [Recv ! {msg, I} || I <- lists:seq(0, N - 1)],
    Left = receive {done, L} -> L end,
    T1 = now_ns(),
    check(Left =:= Junk, {junk_left, Left}),
    result(selective, ns_per_receive, (T1 - T0) / N, ns);

run(Other) ->
    error({unknown_workload, Other}).

%% ------------------------------------------------------------ helpers
ring_node(I, Next, Main) ->
    receive
        {token, 0} -> Main ! {done, I}, ring_node(I, Next, Main);
        {token, K} -> Next ! {token, K - 1}, ring_node(I, Next, Main)
    end.

ping(_, 0) -> ok;
ping(Pong, N) ->
    Pong ! {ping, self()},
    receive pong -> ping(Pong, N - 1) end.

pong() ->
    receive {ping, From} -> From ! pong, pong() end.

skynet(Parent, Num, 1) ->
    Parent ! {sum, Num};
skynet(Parent, Num, Size) ->
    Self = self(),
    Sub = Size div 10,
    [spawn(fun() -> skynet(Self, Num + I * Sub, Sub) end) || I <- lists:seq(0, 9)],
    Parent ! {sum, sum_n(10, 0)}.

sum_n(0, Acc) -> Acc;
sum_n(K, Acc) -> receive {sum, S} -> sum_n(K - 1, Acc + S) end.

spawn_idle(0, Acc) -> Acc;
spawn_idle(K, Acc) ->
    Main = self(),
    P = spawn(fun() -> Main ! ready, receive stop -> ok end end),
    spawn_idle(K - 1, [P | Acc]).

wait_n(_, 0) -> ok;
wait_n(Msg, K) -> receive Msg -> wait_n(Msg, K - 1) end.

send_n(_, 0) -> ok;
send_n(To, K) -> To ! K, send_n(To, K - 1).

count(0) -> ok;
count(K) -> receive _ -> count(K - 1) end.

timer_proc(Main) ->
    Deadline = erlang:monotonic_time(microsecond) + 10000,
    receive after 10 -> ok end,
    Main ! {late, erlang:monotonic_time(microsecond) - Deadline}.

steady_proc(Main, End, Hist) ->
    Deadline = erlang:monotonic_time(microsecond) + 10000,
    receive after 10 -> ok end,
    Now = erlang:monotonic_time(microsecond),
    counters:add(Hist, min(max(Now - Deadline, 0), ?HIST_US) + 1, 1),
    if Now >= End -> Main ! done;
       true -> steady_proc(Main, End, Hist)
    end.

%% Nearest rank PerMille of a histogram given as a list of counts (bucket 0 first).
hist_rank(Counts, Total, PerMille) ->
    hist_rank(Counts, max(1, (Total * PerMille + 999) div 1000), 0, 0).
hist_rank([], _Rank, _Seen, I) -> I - 1;
hist_rank([C | Rest], Rank, Seen, I) ->
    case Seen + C >= Rank of
        true -> I;
        false -> hist_rank(Rest, Rank, Seen + C, I + 1)
    end.

collect_late(0, Acc) -> Acc;
collect_late(K, Acc) -> receive {late, L} -> collect_late(K - 1, [L | Acc]) end.

pct(Sorted, N, P) -> lists:nth(max(1, (N * P + 99) div 100), Sorted).

%% The pattern only matches {msg, _}: every receive scans past the 1000
%% queued {junk, _} messages first (no ref-trick optimisation applies).
selective_recv(N, N) -> ok;
selective_recv(I, N) ->
    receive {msg, I} -> selective_recv(I + 1, N) end.

vm_rss() ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(Bin, <<"\n">>, [global]),
                   binary:match(L, <<"VmRSS:">>) =/= nomatch],
    [_, Kb, _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb) * 1024.
