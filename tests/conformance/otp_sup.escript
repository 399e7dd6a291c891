#!/usr/bin/env escript
%% -*- erlang -*-
%%! +S 1 -noinput
%%
%% Runs the supervisor scenarios of a file on OTP's own `supervisor` and
%% prints the trace that Troupe's runner (sup_conformance) prints for the
%% same file: the reference the conformance suite compares against.
%%
%%   escript otp_sup.escript SCENARIOS.sup
%%
%% The file's format is described in tests/conformance/README.md.
-mode(compile).

-export([main/1, init/1, handle_call/3, handle_cast/2, handle_info/2,
         terminate/2, log/2, start_worker/2, start_worker/3]).

%% -- the scenario file ------------------------------------------------------

main([File]) ->
    {ok, Bin} = file:read_file(File),
    Lines = [strip_comment(L) || L <- string:split(binary_to_list(Bin), "\n", all)],
    Scenarios = parse_scenarios([L || L <- Lines, string:trim(L) =/= ""], []),
    logger:remove_handler(default),
    ok = logger:add_handler(sup_reports, ?MODULE, #{}),
    ets:new(starts, [named_table, public, set]),
    register(sup_driver, self()),
    process_flag(trap_exit, true),
    Driver = self(),
    register(sup_watcher, spawn_link(fun() -> watcher(Driver, []) end)),
    lists:foreach(fun run_scenario/1, Scenarios),
    halt(0);
main(_) ->
    io:format(standard_error, "usage: escript otp_sup.escript FILE~n", []),
    halt(2).

strip_comment(L) ->
    [Before | _] = string:split(L, "#"),
    string:trim(Before, trailing).

parse_scenarios([], Acc) ->
    lists:reverse(Acc);
parse_scenarios(["scenario " ++ Name | Rest], Acc) ->
    {Body, Rest1} = lists:splitwith(fun(L) -> not lists:prefix("scenario ", L) end, Rest),
    {TreeLines, Script} = lists:splitwith(fun(L) -> not lists:prefix("do ", L) end, Body),
    {[Tree], []} = parse_tree(TreeLines, 0),
    Steps = [string:tokens(S, " ") || "do " ++ S <- Script],
    parse_scenarios(Rest1, [{string:trim(Name), Tree, Steps} | Acc]).

indent(L) -> length(L) - length(string:trim(L, leading)).

parse_tree([], _Level) ->
    {[], []};
parse_tree([L | Rest] = All, Level) ->
    case indent(L) < Level of
        true -> {[], All};
        false ->
            Tokens = string:tokens(L, " "),
            {Node, Rest2} =
                case Tokens of
                    ["sup" | _] ->
                        {Kids, Rest1} = parse_tree(Rest, indent(L) + 1),
                        {{sup, Tokens, Kids}, Rest1};
                    ["worker" | _] ->
                        {{worker, Tokens}, Rest}
                end,
            {More, Rest3} = parse_tree(Rest2, Level),
            {[Node | More], Rest3}
    end.

opt(Key, Tokens, Default) ->
    Prefix = Key ++ "=",
    case [lists:nthtail(length(Prefix), T) || T <- Tokens, lists:prefix(Prefix, T)] of
        [V | _] -> V;
        [] -> Default
    end.

flag(Name, Tokens) -> lists:member(Name, Tokens).

shutdown_of("brutal_kill") -> brutal_kill;
shutdown_of("infinity") -> infinity;
shutdown_of(Ms) -> list_to_integer(Ms).

reason_of("normal") -> normal;
reason_of("shutdown") -> shutdown;
reason_of("shutdown:" ++ X) -> {shutdown, list_to_atom(X)};
reason_of(Other) -> list_to_atom(Other).

%% -- the scenario's supervisors and workers ---------------------------------

child_spec({sup, ["sup", Id | Opts], _} = Node, Prefix) ->
    #{id => list_to_atom(Id),
      start => {supervisor, start_link, [?MODULE, {sup, Node, Prefix}]},
      restart => list_to_atom(opt("restart", Opts, "permanent")),
      shutdown => shutdown_of(opt("shutdown", Opts, "infinity")),
      type => supervisor,
      significant => flag("significant", Opts)};
child_spec({worker, ["worker", Id, Restart, Shutdown | Opts]}, Prefix) ->
    #{id => list_to_atom(Id),
      start => {?MODULE, start_worker, [Prefix ++ Id, Opts]},
      restart => list_to_atom(Restart),
      shutdown => shutdown_of(Shutdown),
      type => worker,
      significant => flag("significant", Opts)}.

%% A worker; the children of a simple_one_for_one supervisor get the index
%% of their start as a further argument.
start_worker(Path, Opts) ->
    gen_server:start_link(?MODULE, {worker, Path, Opts}, []).
start_worker(Path, Opts, Index) ->
    start_worker(Path ++ "." ++ integer_to_list(Index), Opts).

init({sup, {sup, ["sup", Id, Strategy, Intensity, Period | Opts], Kids}, Prefix}) ->
    Path = Prefix ++ Id,
    notice({sup_started, Path, self()}),
    Flags = #{strategy => list_to_atom(Strategy),
              intensity => list_to_integer(Intensity),
              period => list_to_integer(Period),
              auto_shutdown => list_to_atom(opt("auto", Opts, "never"))},
    {ok, {Flags, [child_spec(K, Path ++ "/") || K <- Kids]}};
init({worker, Path, Opts}) ->
    N = ets:update_counter(starts, Path, 1, {Path, 0}),
    notice({started, Path, self()}),
    case flag("trap", Opts) of
        true -> process_flag(trap_exit, true);
        false -> ok
    end,
    Fail = fun() ->
                   %% Its exit is noted now: ERTS finishes an exit after
                   %% the start has been answered, so its DOWN may come after
                   %% what the supervisor does next.
                   notice({init_failed, fail, self()}),
                   {stop, fail}
           end,
    case opt("init", Opts, "ok") of
        "ignore" -> ignore;
        "fail" -> Fail();
        "fail_after:" ++ K ->
            case N > list_to_integer(K) of
                true -> Fail();
                false -> {ok, Opts}
            end;
        "ok" -> {ok, Opts}
    end.

handle_call(_Msg, _From, Opts) -> {reply, ok, Opts}.

handle_cast({exit, Reason}, Opts) -> {stop, Reason, Opts}.

handle_info(_Msg, Opts) -> {noreply, Opts}.

terminate(_Reason, Opts) ->
    case opt("stop_takes", Opts, none) of
        none -> ok;
        Ms -> timer:sleep(list_to_integer(Ms))
    end,
    case opt("on_shutdown", Opts, none) of
        none -> ok;
        R -> exit(reason_of(R))
    end.

%% -- supervisor reports, from OTP's logger ----------------------------------

log(#{msg := {report, #{label := {supervisor, Context}, report := Report}}}, _Config) ->
    sup_watcher ! {report, Context, proplists:get_value(supervisor, Report),
                  proplists:get_value(offender, Report),
                  proplists:get_value(reason, Report)};
log(_Event, _Config) ->
    ok.

%% -- the watcher -------------------------------------------------------------

%% Every start, exit and report goes through one process, the watcher, so
%% that the driver sees them in one order. A process that starts tells the
%% watcher and waits until it is monitored, so its exit is never missed.
notice(What) ->
    Ref = make_ref(),
    sup_watcher ! {notice, self(), Ref, What},
    receive {Ref, ok} -> ok end.

watcher(Driver, Watched) ->
    receive
        {flush, From, Ref} ->
            %% Every process that is gone has its exit passed on first, and
            %% every other one has handled all it was sent.
            Watched1 = await_quiet(Driver, Watched),
            From ! {Ref, flushed},
            watcher(Driver, Watched1);
        Msg ->
            watcher(Driver, watch(Msg, Driver, Watched))
    end.

%% Passes on a start (monitoring the process first), an exit or a report.
watch({notice, From, Ref, {init_failed, _, Pid} = What}, Driver, Watched) ->
    Driver ! What,
    From ! {Ref, ok},
    put({quiet, Pid}, true),
    Watched;
watch({notice, From, Ref, {_, _, Pid} = What}, Driver, Watched) ->
    erlang:monitor(process, Pid),
    Driver ! What,
    From ! {Ref, ok},
    [Pid | Watched];
watch({'DOWN', _, process, Pid, _} = Down, Driver, Watched) ->
    case erase({quiet, Pid}) of
        true -> ok;
        undefined -> Driver ! Down
    end,
    Watched -- [Pid];
watch({report, _, _, _, _} = Report, Driver, Watched) ->
    Driver ! Report,
    Watched.

await_quiet(Driver, Watched) ->
    Gone = [P || P <- Watched, not is_process_alive(P)],
    case Gone =:= [] andalso lists:all(fun idle/1, Watched) of
        true -> Watched;
        false ->
            %% Something still runs (or its exit is on its way): look again
            %% when it has had its turn.
            receive
                {notice, _, _, _} = Msg -> await_quiet(Driver, watch(Msg, Driver, Watched));
                {'DOWN', _, _, _, _} = Msg -> await_quiet(Driver, watch(Msg, Driver, Watched));
                {report, _, _, _, _} = Msg -> await_quiet(Driver, watch(Msg, Driver, Watched))
            after 1 ->
                await_quiet(Driver, Watched)
            end
    end.

idle(Pid) ->
    case erlang:process_info(Pid, [message_queue_len, status]) of
        undefined -> false;
        [{message_queue_len, 0}, {status, waiting}] -> true;
        _ -> false
    end.

flush_watcher() ->
    Ref = make_ref(),
    sup_watcher ! {flush, self(), Ref},
    await_flushed(Ref).

await_flushed(Ref) ->
    receive
        {Ref, flushed} -> ok;
        Msg -> handle(Msg), await_flushed(Ref)
    end.

%% -- the driver --------------------------------------------------------------

show(normal) -> "normal";
show(shutdown) -> "shutdown";
show(killed) -> "killed";
show({shutdown, X}) -> lists:flatten(io_lib:format("{shutdown,~w}", [X]));
show(X) when is_atom(X) -> atom_to_list(X);
show(X) -> lists:flatten(io_lib:format("~w", [X])).

run_scenario({Name, Tree, Steps}) ->
    ets:delete_all_objects(starts),
    put(paths, #{}),
    put(sups, []),
    put(life, []),
    put(reports, []),
    erase(top),
    io:format("scenario ~s~n", [Name]),
    lists:foldl(fun(Step, I) ->
                        io:format("step ~b ~s~n", [I, lists:join(" ", Step)]),
                        Result = step(Step, Tree),
                        settle(),
                        print_events(),
                        io:format("  result ~s~n", [Result]),
                        I + 1
                end, 1, Steps),
    %% Whatever still runs goes, unseen.
    Top = get(top),
    case is_pid(Top) andalso is_process_alive(Top) of
        true ->
            unlink(Top),
            exit(Top, kill),
            await_down(Top);
        false -> ok
    end,
    put(life, []),
    put(reports, []),
    io:format("end~n").

path_of(Pid) -> maps:get(Pid, get(paths), undefined).

pid_of(Path) ->
    Alive = [P || {P, Q} <- maps:to_list(get(paths)), Q =:= Path, is_process_alive(P)],
    case Alive of
        [P | _] -> P;
        [] -> undefined
    end.

event(Kind, Text) -> put(Kind, [Text | get(Kind)]).

handle({started, Path, Pid}) ->
    put(paths, maps:put(Pid, Path, get(paths))),
    event(life, "start " ++ Path);
handle({sup_started, Path, Pid}) ->
    put(paths, maps:put(Pid, Path, get(paths))),
    put(sups, get(sups) ++ [Pid]),
    event(life, "start " ++ Path);
handle({init_failed, Reason, Pid}) ->
    event(life, "exit " ++ path_of(Pid) ++ " " ++ show(Reason));
handle({'DOWN', _, process, Pid, Reason}) ->
    put(sups, get(sups) -- [Pid]),
    case path_of(Pid) of
        undefined -> ok;
        Path -> event(life, "exit " ++ Path ++ " " ++ show(Reason))
    end;
handle({report, Context, Sup, Offender, Reason}) ->
    event(reports, atom_to_list(Context) ++ " " ++ offender_path(Sup, Offender)
                   ++ " " ++ show(Reason));
handle({'EXIT', _, _}) ->
    ok.

offender_path({SupPid, _Module}, Offender) ->
    offender_path(SupPid, Offender);
offender_path(Sup, Offender) ->
    SupPath = case path_of(Sup) of undefined -> "?"; P -> P end,
    Id = atom_to_list(proplists:get_value(id, Offender)),
    case {proplists:get_value(pid, Offender), proplists:get_value(nb_children, Offender)} of
        {_, N} when is_integer(N) -> SupPath ++ "/" ++ Id ++ "*" ++ integer_to_list(N);
        {Pid, _} when is_pid(Pid) ->
            case path_of(Pid) of undefined -> SupPath ++ "/" ++ Id; Path -> Path end;
        {{restarting, Pid}, _} when is_pid(Pid) ->
            case path_of(Pid) of undefined -> SupPath ++ "/" ++ Id; Path -> Path end;
        _ -> SupPath ++ "/" ++ Id
    end.

%% Takes every message that is there now.
drain() ->
    receive
        Msg -> handle(Msg), drain(), true
    after 0 -> false
    end.

%% Runs until nothing more happens: every live supervisor has handled
%% everything sent to it before (it answers a sys call only then), and no
%% event came in the meantime.
settle() ->
    Before = {get(life), get(reports)},
    lists:foreach(fun(S) -> catch sys:get_state(S, infinity) end, get(sups)),
    flush_watcher(),
    drain(),
    case {get(life), get(reports)} of
        Before -> ok;
        _ -> settle()
    end.

%% Collects events until `Pid` is down.
await_down(Pid) ->
    receive
        {'DOWN', _, process, Pid, _} = Msg -> handle(Msg);
        Msg -> handle(Msg), await_down(Pid)
    after 30000 -> event(life, "timeout waiting for " ++ show(path_of(Pid)))
    end.

print_events() ->
    [io:format("  life ~s~n", [E]) || E <- concurrent_exits(lists:reverse(get(life)))],
    [io:format("  report ~s~n", [E]) || E <- lists:reverse(get(reports))],
    put(life, []),
    put(reports, []).

%% The children of a killed supervisor all get the signal at once: the order
%% of their exits is the scheduler's, so a run of them is shown sorted.
concurrent_exits([]) -> [];
concurrent_exits(["exit " ++ Rest = E | More]) ->
    case lists:suffix(" killed", Rest) of
        true ->
            Sup = lists:sublist(Rest, length(Rest) - length(" killed")),
            IsKid = fun("exit " ++ R) ->
                            lists:prefix(Sup ++ "/", R) andalso lists:suffix(" killed", R);
                       (_) -> false
                    end,
            {Kids, After} = lists:splitwith(IsKid, More),
            [E | lists:sort(Kids)] ++ concurrent_exits(After);
        false -> [E | concurrent_exits(More)]
    end;
concurrent_exits([E | More]) -> [E | concurrent_exits(More)].

sup_named(Path) ->
    case pid_of(Path) of
        undefined -> throw({no_process, Path});
        Pid -> Pid
    end.

show_children(Children) ->
    Shown = [io_lib:format("{~s,~s,~s}",
                           [show(Id), case C of
                                          P when is_pid(P) -> "running";
                                          restarting -> "restarting";
                                          undefined -> "undefined"
                                      end, show(T)])
             || {Id, C, T, _} <- Children],
    "[" ++ lists:join(",", Shown) ++ "]".

show_result(ok) -> "ok";
show_result({ok, Pid}) when is_pid(Pid) -> "{ok,_}";
show_result({ok, undefined}) -> "{ok,undefined}";
show_result({error, {already_started, Pid}}) when is_pid(Pid) ->
    "{error,{already_started,_}}";
show_result({error, {Reason, Child}}) when element(1, Child) =:= child ->
    "{error,{" ++ show(Reason) ++ ",_}}";
show_result({error, Reason}) -> "{error," ++ show(Reason) ++ "}".

step(Step, Tree) ->
    try do_step(Step, Tree)
    catch throw:{no_process, Path} -> "no process " ++ Path
    end.

do_step(["start"], Tree) ->
    case supervisor:start_link(?MODULE, {sup, Tree, ""}) of
        {ok, Pid} ->
            put(top, Pid),
            "ok";
        {error, {shutdown, {failed_to_start_child, Child, Reason}}} ->
            lists:flatten(io_lib:format("error failed_to_start_child ~s ~s",
                                        [Child, show(Reason)]));
        {error, Other} ->
            "error " ++ show(Other)
    end;
do_step(["exit", Path, Reason], _) ->
    Pid = sup_named(Path),
    gen_server:cast(Pid, {exit, reason_of(Reason)}),
    await_down(Pid),
    "ok";
do_step(["kill", Path], _) ->
    Pid = sup_named(Path),
    exit(Pid, kill),
    await_down(Pid),
    "ok";
do_step(["stop"], _) ->
    Top = get(top),
    exit(Top, shutdown),
    await_down(Top),
    erase(top),
    "ok";
do_step(["wait", Ms], _) ->
    timer:sleep(list_to_integer(Ms)),
    "ok";
do_step(["which_children", Sup], _) ->
    show_children(supervisor:which_children(sup_named(Sup)));
do_step(["count_children", Sup], _) ->
    Counts = supervisor:count_children(sup_named(Sup)),
    "[" ++ lists:join(",", [io_lib:format("{~s,~b}", [K, V]) || {K, V} <- Counts]) ++ "]";
do_step(["terminate_child", Sup, Id], _) ->
    show_result(supervisor:terminate_child(sup_named(Sup), list_to_atom(Id)));
do_step(["terminate_child_pid", Sup, Path], _) ->
    Pid = case [P || {P, Q} <- maps:to_list(get(paths)), Q =:= Path] of
              [P | _] -> P;
              [] -> throw({no_process, Path})
          end,
    show_result(supervisor:terminate_child(sup_named(Sup), Pid));
do_step(["restart_child", Sup, Id], _) ->
    show_result(supervisor:restart_child(sup_named(Sup), list_to_atom(Id)));
do_step(["delete_child", Sup, Id], _) ->
    show_result(supervisor:delete_child(sup_named(Sup), list_to_atom(Id)));
do_step(["start_child", Sup | Spec], _) ->
    show_result(supervisor:start_child(sup_named(Sup),
                                       child_spec({worker, ["worker" | Spec]},
                                                  Sup ++ "/")));
do_step(["start_child_args", Sup, Index], _) ->
    show_result(supervisor:start_child(sup_named(Sup),
                                       [list_to_integer(Index)])).
