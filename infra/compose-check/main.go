// Command compose-check loads a compose file as `docker compose config` does,
// with compose-go, the loader Docker Compose is built on: variables from the
// env file, the compose-spec JSON schema, normalization and the consistency
// checks. It prints the normalized model as JSON, or what is wrong and exits 1.
//
//	compose-check [--env-file FILE] [--profile NAME]... COMPOSE_FILE
//
// As with docker compose, the env file defaults to the .env beside the compose
// file (if there is one), and without --profile the profiles are those of
// COMPOSE_PROFILES in it. Unlike docker compose, the shell's own variables are
// not read, so that the result depends on the files alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type profileFlags []string

func (p *profileFlags) String() string { return strings.Join(*p, ",") }

func (p *profileFlags) Set(value string) error {
	*p = append(*p, value)
	return nil
}

func main() {
	envFile := flag.String("env-file", "", "the file of variables to interpolate (default: .env beside the compose file)")
	var profiles profileFlags
	flag.Var(&profiles, "profile", "a profile to enable; repeatable (default: COMPOSE_PROFILES from the env file)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [--env-file FILE] [--profile NAME]... COMPOSE_FILE")
		os.Exit(2)
	}
	if err := check(flag.Arg(0), *envFile, profiles); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func check(composeFile, envFile string, profiles []string) error {
	absolute, err := filepath.Abs(composeFile)
	if err != nil {
		return err
	}
	var envFiles []string
	if envFile != "" {
		envFiles = []string{envFile}
	}
	options, err := cli.NewProjectOptions(
		[]string{absolute},
		cli.WithWorkingDirectory(filepath.Dir(absolute)),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(profiles...),
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	model, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(model, '\n'))
	return err
}
