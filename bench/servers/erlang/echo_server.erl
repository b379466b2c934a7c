%% TCP echo server: one Erlang process per connection, gen_tcp passive mode.
%%   erlc -o build echo_server.erl
%%   erl -noshell -pa build -run echo_server main PORT
-module(echo_server).
-export([main/1, start/1]).

main([PortStr]) ->
    start(list_to_integer(PortStr)).

start(Port) ->
    Parent = self(),
    %% The listener owns the listen socket and lives as long as the node.
    Pid = spawn(fun() -> listen(Port, Parent) end),
    receive
        {Pid, listening} -> ok
    end.

listen(Port, Parent) ->
    {ok, L} = gen_tcp:listen(Port, [binary, {packet, raw}, {active, false},
                                    {nodelay, true}, {reuseaddr, true},
                                    {backlog, 1024}]),
    {ok, {Ip, P}} = inet:sockname(L),
    io:format("erlang echo server on ~s:~b~n", [inet:ntoa(Ip), P]),
    Parent ! {self(), listening},
    accept(L).

accept(L) ->
    case gen_tcp:accept(L) of
        {ok, S} ->
            Pid = spawn(fun() -> receive go -> loop(S) end end),
            ok = gen_tcp:controlling_process(S, Pid),
            Pid ! go,
            accept(L);
        {error, Reason} ->
            io:format(standard_error, "accept: ~p~n", [Reason]),
            accept(L)
    end.

loop(S) ->
    case gen_tcp:recv(S, 0) of
        {ok, Data} ->
            case gen_tcp:send(S, Data) of
                ok -> loop(S);
                {error, _} -> gen_tcp:close(S)
            end;
        {error, _} ->
            gen_tcp:close(S)
    end.
