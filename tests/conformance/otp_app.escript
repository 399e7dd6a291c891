#!/usr/bin/env escript
%% -*- erlang -*-
%%! +S 1 -noinput
%%
%% One application on OTP 25: of restart type TYPE, ending by ENDING
%% (`crash`: its top supervisor gives up; `done`: its significant worker
%% finishes and the top supervisor shuts itself down; `stop`: stopped by
%% request). Prints how the application ended and whether the node keeps
%% running; when the node stops, OTP's own last words say so (the run
%% script reads them).
%%
%%   escript otp_app.escript TYPE ENDING
-mode(compile).

-export([main/1, start/2, stop/1, init/1, handle_call/3, handle_cast/2,
         handle_info/2, log/2]).

main([Type, Ending]) ->
    logger:remove_handler(default),
    register(app_driver, self()),
    ok = logger:add_handler(app_exits, ?MODULE, #{}),
    ok = application:load({application, demo,
                           [{description, "conformance"}, {vsn, "1"},
                            {modules, []}, {registered, []},
                            {applications, [kernel, stdlib]},
                            {mod, {?MODULE, Ending}}]}),
    ok = application:start(demo, list_to_atom(Type)),
    [Worker] = [P || {w, P, _, _} <- supervisor:which_children(whereis(demo_sup))],
    case Ending of
        "crash" -> gen_server:cast(Worker, {exit, boom});
        "done" -> gen_server:cast(Worker, {exit, normal});
        "stop" -> ok = application:stop(demo)
    end,
    receive
        {exited, Reason} -> io:format("app exited: ~w~n", [Reason])
    after 5000 -> io:format("app did not exit~n")
    end,
    %% The controller decided when it reported the exit: a call to it
    %% answers only if it did not stop the node.
    erlang:monitor(process, whereis(application_controller)),
    try application:which_applications() of
        _ -> io:format("node runs~n")
    catch
        exit:_ -> io:format("node stops~n")
    end,
    halt(0).

start(_, Ending) ->
    Flags = case Ending of
                "done" -> #{intensity => 0, auto_shutdown => any_significant};
                _ -> #{intensity => 0}
            end,
    Restart = case Ending of "done" -> transient; _ -> permanent end,
    supervisor:start_link({local, demo_sup}, ?MODULE, {sup, Flags, Restart}).

stop(_) -> ok.

init({sup, Flags, Restart}) ->
    {ok, {Flags, [#{id => w, start => {gen_server, start_link, [?MODULE, w, []]},
                    restart => Restart, significant => Restart =:= transient}]}};
init(w) ->
    {ok, w}.

handle_call(_, _, S) -> {reply, ok, S}.
handle_cast({exit, R}, S) -> {stop, R, S}.
handle_info(_, S) -> {noreply, S}.

%% The application controller's report of an application that ended.
log(#{msg := {report, #{label := {application_controller, exit}, report := R}}}, _) ->
    app_driver ! {exited, proplists:get_value(exited, R)};
log(_, _) ->
    ok.
