#!/usr/bin/env node
// The robusta command line.
console.log('robusta: commands come with the models and attacks issues');
