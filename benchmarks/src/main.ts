console.log('benchmarks: not yet implemented');
