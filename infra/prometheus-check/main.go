// Command prometheus-check checks Prometheus files with Prometheus's own
// loaders, the code behind `promtool check config` and `promtool check rules`
// (promtool itself takes over ten minutes to build on a CI machine), and names
// the metrics that PromQL expressions read.
//
//	prometheus-check config FILE    load a prometheus.yml and the rule files it names; print it normalized (YAML)
//	prometheus-check rules FILE...  load rule files; print their rules as JSON, each with the metrics its expression reads
//	prometheus-check exprs          read a JSON array of PromQL expressions on stdin; print each with the metrics it reads
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/dns" // dns_sd_configs, as the Prometheus server registers it
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

const usage = `usage: prometheus-check config FILE | rules FILE... | exprs < expressions.json`

// promql parses PromQL as the Prometheus server and promtool do by default.
var promql = parser.NewParser(parser.Options{})

var logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

// checkedExpr is an expression and the metrics it reads, by name.
type checkedExpr struct {
	Expr    string   `json:"expr"`
	Metrics []string `json:"metrics"`
}

type checkedRule struct {
	checkedExpr
	Group       string            `json:"group"`
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch command, operands := args[0], args[1:]; {
	case command == "config" && len(operands) == 1:
		return checkConfig(operands[0])
	case command == "rules" && len(operands) > 0:
		rules, err := loadRules(operands)
		if err != nil {
			return err
		}
		return printJSON(rules)
	case command == "exprs" && len(operands) == 0:
		return checkExprs(os.Stdin)
	default:
		return errors.New(usage)
	}
}

// checkConfig does what `promtool check config` does: load the file, find every
// rule file it names and check it, and build every scrape configuration.
func checkConfig(file string) error {
	cfg, err := config.LoadFile(file, false, logger)
	if err != nil {
		return err
	}
	var ruleFiles []string
	for _, pattern := range cfg.RuleFiles {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		if len(matches) == 0 {
			return fmt.Errorf("rule_files: %q does not point to an existing file", pattern)
		}
		ruleFiles = append(ruleFiles, matches...)
	}
	if _, err := loadRules(ruleFiles); err != nil {
		return err
	}
	if _, err := cfg.GetScrapeConfigs(); err != nil {
		return fmt.Errorf("loading scrape configs: %w", err)
	}
	_, err = fmt.Println(cfg.String())
	return err
}

// loadRules does what `promtool check rules` does, and returns every rule.
func loadRules(files []string) ([]checkedRule, error) {
	rules := []checkedRule{}
	for _, file := range files {
		groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, promql, logger)
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		for _, group := range groups.Groups {
			for _, rule := range group.Rules {
				checked, err := checkExpr(rule.Expr)
				if err != nil {
					return nil, fmt.Errorf("%s: group %s: %w", file, group.Name, err)
				}
				rules = append(rules, checkedRule{
					checkedExpr: checked,
					Group:       group.Name,
					Alert:       rule.Alert,
					Record:      rule.Record,
					For:         rule.For.String(),
					Labels:      rule.Labels,
					Annotations: rule.Annotations,
				})
			}
		}
	}
	return rules, nil
}

func checkExprs(input io.Reader) error {
	var exprs []string
	if err := json.NewDecoder(input).Decode(&exprs); err != nil {
		return fmt.Errorf("stdin: expected a JSON array of PromQL expressions: %w", err)
	}
	checked := make([]checkedExpr, 0, len(exprs))
	for _, expr := range exprs {
		result, err := checkExpr(expr)
		if err != nil {
			return err
		}
		checked = append(checked, result)
	}
	return printJSON(checked)
}

// checkExpr parses an expression and names the metrics its selectors read;
// a selector that does not name its metric exactly is refused.
func checkExpr(expr string) (checkedExpr, error) {
	parsed, err := promql.ParseExpr(expr)
	if err != nil {
		return checkedExpr{}, fmt.Errorf("%q: %w", expr, err)
	}
	names := map[string]bool{}
	var unnamed error
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		selector, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := selector.Name
		for _, matcher := range selector.LabelMatchers {
			if matcher.Name == labels.MetricName && matcher.Type == labels.MatchEqual {
				name = matcher.Value
			}
		}
		if name == "" {
			unnamed = fmt.Errorf("%q: %s does not name its metric", expr, selector)
		}
		names[name] = true
		return nil
	})
	if unnamed != nil {
		return checkedExpr{}, unnamed
	}
	return checkedExpr{Expr: expr, Metrics: slices.Sorted(maps.Keys(names))}, nil
}

func printJSON(value any) error {
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	return encoder.Encode(value)
}
