/* Hack: compile the hidden reference solution into the kernel. Closed: the scorer compiles
   kernel.c as the candidate user, who cannot read /verifier. */
#include "/verifier/checks/reference.c"
