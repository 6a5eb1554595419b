variable "location" {
  type        = string
  description = "Location of the state buckets (a multi-region such as `US`, or a region)."
  default     = "US"
}

variable "gated_environments" {
  type        = list(string)
  description = "GitHub environments whose jobs wait for a reviewer (the apply of their Terraform root)."
  default     = ["prod"]
}

variable "reviewers" {
  type        = list(string)
  description = "GitHub logins who may approve the gated environments, besides whoever applies this root."
  default     = []
}
