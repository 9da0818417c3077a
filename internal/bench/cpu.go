package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/procfs"
)

// processCPU reads process_cpu_seconds_total from a Prometheus metrics URL
// (0 and no error when url is empty).
func processCPU(url string) (float64, error) {
	if url == "" {
		return 0, nil
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no process_cpu_seconds_total", url)
}

// MachineCPU is how the machine's cores spent a run, as fractions of their
// time: on a virtual machine, what the hypervisor took (Steal) changes
// every figure beside it.
type MachineCPU struct {
	Busy   float64 `json:"busy"`
	Idle   float64 `json:"idle"`
	IOWait float64 `json:"ioWait"`
	Steal  float64 `json:"steal"`
}

// machineTimes are the cumulative CPU times of all the machine's cores.
type machineTimes struct{ c procfs.CPUStat }

// readMachineTimes reads them (Linux's /proc/stat; an error elsewhere).
func readMachineTimes() (machineTimes, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return machineTimes{}, err
	}
	st, err := fs.Stat()
	return machineTimes{st.CPUTotal}, err
}

// Until is how the cores spent the time between two readings. (Guest time
// is counted in User already.)
func (t machineTimes) Until(later machineTimes) MachineCPU {
	busy := func(c procfs.CPUStat) float64 { return c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ }
	before, after := t.c, later.c
	d := MachineCPU{
		Busy:   busy(after) - busy(before),
		Idle:   after.Idle - before.Idle,
		IOWait: after.Iowait - before.Iowait,
		Steal:  after.Steal - before.Steal,
	}
	total := d.Busy + d.Idle + d.IOWait + d.Steal
	if total <= 0 {
		return MachineCPU{}
	}
	return MachineCPU{Busy: d.Busy / total, Idle: d.Idle / total, IOWait: d.IOWait / total, Steal: d.Steal / total}
}

// Reading is the CPU counters read at one end of a measured run.
type Reading struct {
	own        float64
	server     float64
	serverErr  error
	machine    machineTimes
	machineErr error
}

// Read takes them: this process's CPU time, the server's (from its
// Prometheus metrics URL, when one is given) and the machine's.
func Read(serverMetrics string) Reading {
	var r Reading
	r.server, r.serverErr = processCPU(serverMetrics)
	r.machine, r.machineErr = readMachineTimes()
	r.own = ownCPU()
	return r
}

// Usage is what a run used between two readings.
type Usage struct {
	Generator float64     // CPU seconds of the load generator
	Server    float64     // CPU seconds of the server, when its metrics were read
	Machine   *MachineCPU // how the machine's cores spent the run; nil where unknown
}

// Until is the usage between r and a later reading; the error says the
// server's CPU time could not be read.
func (r Reading) Until(later Reading) (Usage, error) {
	u := Usage{Generator: later.own - r.own, Server: later.server - r.server}
	if r.machineErr == nil && later.machineErr == nil {
		m := r.machine.Until(later.machine)
		u.Machine = &m
	}
	return u, errors.Join(r.serverErr, later.serverErr)
}
