/*
 * Test programs for the runner itself: every way a test process can end.
 * check_selftest.py knows the outcome of each subtest below; keep the two in step.
 */

#include "wstest.h"

static void pass_one(void)
{
    ok(1 + 1 == 2, "1 + 1 is not 2\n");
}

static void pass_traced(void)
{
    trace("a trace line\n");
    ok(1, "never printed\n");
    ok(1, "never printed\n");
}

/* On Wine the todo is expected to fail and counts as todo; elsewhere it must hold. */
static void pass_todo(void)
{
    todo_wine ok(!winetest_platform_is_wine(), "known to fail on Wine\n");
}

/* check_selftest.py passes RUNNER_SELFTEST with -e. */
static void pass_env(void)
{
    char value[64] = "";

    GetEnvironmentVariableA("RUNNER_SELFTEST", value, sizeof(value));
    ok(!strcmp(value, "passed through"), "RUNNER_SELFTEST is \"%s\"\n", value);
}

START_TEST(pass)
{
    subtest("one", pass_one);
    subtest("traced", pass_traced);
    subtest("todo", pass_todo);
    subtest("env", pass_env);
}

static void fail_one(void)
{
    ok(1, "never printed\n");
    ok(2 + 2 == 5, "2 + 2 is not 5\n");
}

static void fail_three(void)
{
    int i;

    for (i = 0; i < 3; i++) ok(0, "failure %d\n", i);
}

/* A todo that succeeds is a failure: the todo should be removed. */
static void fail_todo(void)
{
    todo_if(1) ok(1, "fixed, todo left\n");
}

START_TEST(fail)
{
    subtest("one", fail_one);
    subtest("three", fail_three);
    subtest("todo", fail_todo);
}

static void skip_all(void)
{
    skip("no network here\n");
}

/* Some checks ran: a pass, not a skip. */
static void skip_some(void)
{
    ok(1, "never printed\n");
    skip("part of it\n");
}

START_TEST(skip)
{
    subtest("all", skip_all);
    subtest("some", skip_some);
}

static void crash_null(void)
{
    volatile int *null = NULL;

    ok(1, "never printed\n");
    *null = 1;
}

/* Output before a crash is kept, and its first failure shows in the verdict. */
static void crash_after_failure(void)
{
    volatile int *null = NULL;

    ok(0, "failed before crashing\n");
    *null = 1;
}

static void crash_exit(void)
{
    ok(1, "never printed\n");
    ExitProcess(3);
}

START_TEST(crash)
{
    subtest("null", crash_null);
    subtest("after_failure", crash_after_failure);
    subtest("exit", crash_exit);
}

static void hang_sleep(void)
{
    trace("going to sleep\n");
    Sleep(INFINITE);
}

START_TEST(hang)
{
    subtest("sleep", hang_sleep);
}

/* A unit without subtests runs as one process. Its body also runs for --list,
 * where checks print nothing. */
START_TEST(whole)
{
    ok(1, "never printed\n");
}
