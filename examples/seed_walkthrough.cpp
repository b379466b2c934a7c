// examples/seed_walkthrough.cpp - each iex session of the Elixir notes
// (shared/seed/elixir-processes.md), line for line, in coproc.
#include <coproc/coproc.hpp>
#include <iostream>
#include <string>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

void say(const std::string& s) {
  std::cout << s << std::endl;
}
const char* yes_no(bool b) {
  return b ? "true" : "false";
}

// iex> pid = spawn(fn -> IO.puts("Estou em outro processo") end)
// iex> Process.alive?(pid)   #=> false
// iex> self()                #=> #PID<0.110.0>
process session_spawn() {
  pid child = spawn([] { say("Estou em outro processo"); });
  std::cout << child << std::endl;
  co_await sleep_for(10ms);  // let the child run and exit
  std::cout << "Process.alive?(pid) -> " << yes_no(alive(child)) << std::endl;
  std::cout << "self() -> " << self() << ", alive? " << yes_no(alive(self())) << std::endl;
}

// iex> pid = spawn(fn -> receive do conteudo -> IO.puts(conteudo) end end)
// iex> send(pid, "Texto para exibir no processo filho")   # printed by the child
// iex> send(pid, "Texto para exibir no processo filho")   # child is dead: dropped
process session_receive() {
  pid child = spawn(
      []() -> process { co_await receive([](const std::string& conteudo) { say(conteudo); }); });
  std::cout << "Process.alive?(pid) -> " << yes_no(alive(child)) << std::endl;
  send(child, "Texto para exibir no processo filho");
  co_await sleep_for(10ms);
  send(child, "Texto para exibir no processo filho");  // silently dropped, as in Elixir
  std::cout << "Process.alive?(pid) -> " << yes_no(alive(child)) << std::endl;
}

// iex> send(self(), {:ok, "Mensagem de sucesso"})
// iex> IO.puts("Meu processo está destravado")
// iex> receive do {:ok, conteudo} -> IO.puts(conteudo) end
process session_mailbox() {
  send(self(), ok, "Mensagem de sucesso");
  say("Meu processo está destravado");
  co_await receive([](atom<"ok">, const std::string& conteudo) { say(conteudo); });
}

// iex> receive do qualquer_coisa -> IO.puts(qualquer_coisa) after 1000 -> IO.puts("Timeout") end
process session_timeout() {
  co_await receive(
      [](const message& qualquer_coisa) { say(std::string(qualquer_coisa.type_name())); },
      after(1000ms, [] { say("Timeout"); }));
}

process walkthrough() {
  say("--- spawn, Process.alive?, self()");
  co_await session_spawn();
  say("--- send and receive");
  co_await session_receive();
  say("--- the mailbox");
  co_await session_mailbox();
  say("--- receive ... after 1000");
  co_await session_timeout();
}

}  // namespace

int main() {
  return coproc::run(walkthrough);
}
