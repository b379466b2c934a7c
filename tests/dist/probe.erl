%% tests/dist/probe.erl - the Erlang side of tests/dist_node_test.cpp.
%% A registered process `probe` that does what the coproc test asks, and reports back.
-module(probe).
-export([start/0]).

start() ->
    register(probe, self()),
    loop().

loop() ->
    receive
        {From, hello} ->
            From ! {hello, self()};
        {From, echo, T} ->
            From ! {echo, T, term_to_binary(T)};
        {From, count, N} ->
            %% N numbered messages, in order, from this one sender.
            [From ! {n, I} || I <- lists:seq(1, N)];
        {From, sink, N} ->
            %% Takes N {seq, I, Bytes} messages; answers how many came in order.
            From ! {sink_done, sink(1, N, 0)};
        {From, call_name, Name, Node} ->
            %% Erlang -> coproc by registered name, then by the pid that answered.
            {Name, Node} ! {self(), first},
            receive
                {echo, first, P} ->
                    P ! {self(), second},
                    receive
                        {echo, second, P} -> From ! {call_name_ok, P}
                    after 5000 -> From ! {call_name_failed, second}
                    end
            after 5000 -> From ! {call_name_failed, first}
            end;
        {From, send_types} ->
            From ! {ok, <<"text">>},
            From ! [1, 2, 3],
            From ! {big, 123456789012345678901234567890},
            From ! {float, 1.5},
            From ! #{<<"k">> => 1, <<"j">> => 2},
            From ! {str, "charlist"},
            From ! done;
        {From, monitor, P} ->
            spawn(fun() ->
                      R = monitor(process, P),
                      From ! monitoring,
                      receive
                          {'DOWN', R, process, _, Reason} -> From ! {down_seen, Reason}
                      after 10000 -> From ! {down_seen, timeout}
                      end
                  end);
        {From, linked_crash, P, Reason} ->
            spawn(fun() ->
                      link(P),
                      From ! {linked, self()},
                      receive go -> exit(Reason) end
                  end);
        {From, target} ->
            Pid = spawn(fun() -> receive {exit, R} -> exit(R) end end),
            From ! {target, Pid};
        {From, named_target, Name} ->
            %% Registered as Name; ignores calls; exits with R on {exit, R}.
            Pid = spawn(fun() -> register(Name, self()), From ! {named_target, self()},
                                 receive {exit, R} -> exit(R) end end),
            _ = Pid;
        {From, gen_call, Name, Node, Req} ->
            %% gen_server:call into a coproc process (monitor, alias tag, reply).
            spawn(fun() ->
                      R = try gen_server:call({Name, Node}, Req, 5000)
                          catch exit:Why -> {call_failed, Why}
                          end,
                      From ! {gen_call_result, R}
                  end);
        {From, gen_call_late, Name, Node, Req, Timeout} ->
            %% A gen_server:call into coproc that gives up before the answer: the late
            %% reply must not land in this caller's mailbox (its alias is gone).
            spawn(fun() ->
                      R = try gen_server:call({Name, Node}, Req, Timeout)
                          catch exit:{timeout, _} -> timeout
                          end,
                      receive after 1500 -> ok end,
                      %% A receive, not process_info(self(), messages): that may not show
                      %% what is still in the signal queue.
                      From ! {gen_call_late_result, R, drain([])}
                  end);
        {From, late_server, Name, Delay} ->
            %% Registered as Name; answers each call with gen:reply after Delay ms.
            spawn(fun() ->
                      register(Name, self()),
                      From ! {late_server, self()},
                      late_server(Delay)
                  end);
        {From, whereis, Name} ->
            From ! {whereis, whereis(Name)};
        {From, reg_send, Name} ->
            {Name, node(From)} ! {from_erlang, self()};
        _ ->
            ok
    end,
    loop().

sink(I, N, InOrder) when I > N -> InOrder;
sink(I, N, InOrder) ->
    receive
        {seq, I, _} -> sink(I + 1, N, InOrder + 1);
        {seq, _, _} -> sink(I + 1, N, InOrder)
    after 20000 -> InOrder
    end.

drain(Acc) ->
    receive M -> drain([M | Acc]) after 0 -> lists:reverse(Acc) end.

late_server(Delay) ->
    receive
        {'$gen_call', From, Req} ->
            timer:sleep(Delay),
            gen:reply(From, {late, Req}),
            late_server(Delay);
        stop ->
            ok
    end.
