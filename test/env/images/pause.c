// A pod's pause container: holds the pod's namespaces, sleeping until SIGTERM or SIGINT, and reaps the
// children that end up under it when it is PID 1 of a shared PID namespace.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction on_stop = {.sa_handler = stop};
  struct sigaction on_child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGTERM, &on_stop, 0) || sigaction(SIGINT, &on_stop, 0) || sigaction(SIGCHLD, &on_child, 0)) return 1;
  for (;;) pause();
}
