%% Minimal HTTP/1.1 keep-alive server on gen_tcp ({packet, http_bin}):
%% GET / answers "Hello, World!", one Erlang process per connection.
%%   erlc -o build http_server.erl
%%   erl -noshell -pa build -run http_server main PORT
-module(http_server).
-export([main/1, start/1]).

-define(BODY, <<"Hello, World!">>).

main([PortStr]) ->
    start(list_to_integer(PortStr)).

start(Port) ->
    Parent = self(),
    Pid = spawn(fun() -> listen(Port, Parent) end),
    receive
        {Pid, listening} -> ok
    end.

listen(Port, Parent) ->
    {ok, L} = gen_tcp:listen(Port, [binary, {packet, http_bin}, {active, false},
                                    {nodelay, true}, {reuseaddr, true},
                                    {backlog, 1024}]),
    {ok, {Ip, P}} = inet:sockname(L),
    io:format("erlang http server on ~s:~b~n", [inet:ntoa(Ip), P]),
    Parent ! {self(), listening},
    accept(L).

accept(L) ->
    case gen_tcp:accept(L) of
        {ok, S} ->
            Pid = spawn(fun() -> receive go -> request(S) end end),
            ok = gen_tcp:controlling_process(S, Pid),
            Pid ! go,
            accept(L);
        {error, Reason} ->
            io:format(standard_error, "accept: ~p~n", [Reason]),
            accept(L)
    end.

%% One request: the request line, then headers up to http_eoh.
request(S) ->
    case gen_tcp:recv(S, 0, 60000) of
        {ok, {http_request, Method, Uri, Vsn}} ->
            KeepAlive0 = Vsn >= {1, 1},
            headers(S, Method, Uri, KeepAlive0, 0);
        {ok, {http_error, _}} ->
            reply(S, 400, <<"Bad Request">>, false);
        _ ->
            gen_tcp:close(S)
    end.

headers(S, Method, Uri, Keep, Len) ->
    case gen_tcp:recv(S, 0, 60000) of
        {ok, {http_header, _, 'Connection', _, V}} ->
            headers(S, Method, Uri, connection(V, Keep), Len);
        {ok, {http_header, _, 'Content-Length', _, V}} ->
            headers(S, Method, Uri, Keep, binary_to_integer(V));
        {ok, {http_header, _, _, _, _}} ->
            headers(S, Method, Uri, Keep, Len);
        {ok, http_eoh} ->
            skip_body(S, Len),
            respond(S, Method, Uri, Keep);
        {ok, {http_error, _}} ->
            reply(S, 400, <<"Bad Request">>, false);
        _ ->
            gen_tcp:close(S)
    end.

connection(V, Keep) ->
    case string:lowercase(V) of
        <<"close">> -> false;
        <<"keep-alive">> -> true;
        _ -> Keep
    end.

skip_body(_S, 0) -> ok;
skip_body(S, Len) ->
    ok = inet:setopts(S, [{packet, raw}]),
    _ = gen_tcp:recv(S, Len, 60000),
    ok = inet:setopts(S, [{packet, http_bin}]).

respond(S, 'GET', {abs_path, <<"/">>}, Keep) -> reply(S, 200, ?BODY, Keep);
respond(S, 'GET', _, Keep) -> reply(S, 404, <<"Not Found">>, Keep);
respond(S, _, _, Keep) -> reply(S, 405, <<"Method Not Allowed">>, Keep).

reply(S, Code, Body, Keep) ->
    Conn = case Keep of true -> <<>>; false -> <<"Connection: close\r\n">> end,
    Resp = [<<"HTTP/1.1 ">>, status(Code),
            <<"\r\nContent-Type: text/plain\r\nContent-Length: ">>,
            integer_to_binary(byte_size(Body)), <<"\r\n">>, Conn, <<"\r\n">>, Body],
    case gen_tcp:send(S, Resp) of
        ok when Keep -> request(S);
        _ -> gen_tcp:close(S)
    end.

status(200) -> <<"200 OK">>;
status(400) -> <<"400 Bad Request">>;
status(404) -> <<"404 Not Found">>;
status(405) -> <<"405 Method Not Allowed">>.
